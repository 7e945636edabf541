// Prefetcher: worker threads compute batches k, k+1, ... of a sampler ahead of the consumer and
// hand them over in order through a bounded window of Depth batches (a worker does not start
// batch j until j < next-to-consume + Depth). Batches are pure functions of k, so the sequence is
// the synchronous one whatever the number of workers or their timing.
// A worker's exception is kept with its batch number; the consumer receives every earlier batch,
// then the exception itself (original type and stack) when it asks for that batch, and again on
// any later call. Dispose wakes and joins the workers (each finishes at most the batch in hand).
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Engine.Imaging.Data;

/// <summary>Throughput so far: batches and crops handed to the consumer, seconds since the
/// prefetcher started, crops per second over that time, and the time the consumer spent waiting.</summary>
public sealed record PrefetchStats(long Batches, long Crops, double Seconds, double CropsPerSecond, double WaitSeconds)
{
    public override string ToString() => $"{Batches} batches, {Crops} crops in {Seconds:F2} s ({CropsPerSecond:F0} crops/s), consumer waited {WaitSeconds:F2} s";
}

public sealed class Prefetcher<TBatch> : IDisposable where TBatch : CropBatch
{
    public const int DefaultDepth = 4;

    private readonly IBatchSampler<TBatch> _sampler;
    private readonly object _gate = new();
    private readonly Dictionary<long, TBatch> _ready = [];
    private readonly Thread[] _threads;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _nextClaim, _nextTake, _batches, _crops, _waitTicks;
    private ExceptionDispatchInfo? _error;
    private long _errorBatch = long.MaxValue;
    private bool _disposed;

    public int Depth { get; }
    public int Workers => _threads.Length;

    /// <param name="start">first batch number (resume a run at batch k).</param>
    /// <param name="depth">batches computed ahead of the consumer at most (>= 1).</param>
    /// <param name="workers">threads computing batches in parallel (>= 1).</param>
    public Prefetcher(IBatchSampler<TBatch> sampler, long start = 0, int depth = DefaultDepth, int workers = 1)
    {
        if (depth < 1) throw new InvalidArgumentException("Prefetcher", $"depth must be >= 1, got {depth}");
        if (workers < 1) throw new InvalidArgumentException("Prefetcher", $"workers must be >= 1, got {workers}");
        if (start < 0) throw new InvalidArgumentException("Prefetcher", $"start batch must be >= 0, got {start}");
        _sampler = sampler; Depth = depth;
        _nextClaim = _nextTake = start;
        _threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"prefetch-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>The batch number the next <see cref="Next"/> returns.</summary>
    public long NextIndex { get { lock (_gate) return _nextTake; } }

    /// <summary>The next batch in order; blocks while it is being computed. Rethrows a worker's
    /// exception for this batch (or an earlier failure).</summary>
    public TBatch Next()
    {
        long t0 = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_ready.Remove(_nextTake, out var batch))
                {
                    _nextTake++;
                    _batches++;
                    _crops += batch.Crops;
                    _waitTicks += Stopwatch.GetTimestamp() - t0;
                    Monitor.PulseAll(_gate);
                    return batch;
                }
                if (_error is not null && _errorBatch <= _nextTake)
                {
                    _waitTicks += Stopwatch.GetTimestamp() - t0;
                    _error.Throw();
                }
                Monitor.Wait(_gate);
            }
        }
    }

    public PrefetchStats Stats
    {
        get
        {
            lock (_gate)
            {
                double s = _clock.Elapsed.TotalSeconds;
                return new PrefetchStats(_batches, _crops, s, s > 0 ? _crops / s : 0, (double)_waitTicks / Stopwatch.Frequency);
            }
        }
    }

    private void Work()
    {
        while (true)
        {
            long k;
            lock (_gate)
            {
                while (!_disposed && _error is null && _nextClaim >= _nextTake + Depth) Monitor.Wait(_gate);
                if (_disposed || _error is not null) return;
                k = _nextClaim++;
            }
            TBatch batch;
            try
            {
                batch = _sampler.Sample(k);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    if (k < _errorBatch) { _error = ExceptionDispatchInfo.Capture(e); _errorBatch = k; }
                    Monitor.PulseAll(_gate);
                }
                return;
            }
            lock (_gate)
            {
                if (_disposed) return;
                _ready[k] = batch;
                Monitor.PulseAll(_gate);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _ready.Clear();
            Monitor.PulseAll(_gate);
        }
        foreach (var t in _threads) t.Join();
    }
}
