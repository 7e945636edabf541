// Reductions as a (rows, inner) problem: row r is one output, its `inner` elements are the reduced
// sub-space in row-major order. Geom gr iterates the kept dims (operand 0 = y, operand 1 = x) and
// Geom gi the reduced dims (operand 0 = x), so any strides work without a copy.
//
// A block has RBLOCK threads split into rows_per_block = blockDim.x / lanes rows of `lanes`
// threads (lanes a power of two). row_lanes = 0: a row's lanes are consecutive threads (coalesced
// when the reduced dims are contiguous); row_lanes = 1: consecutive threads take consecutive rows
// (coalesced when the kept dims are contiguous, e.g. a column sum). Each thread folds its elements
// in order into a state, then the row's lanes merge in a shared-memory tree.
//
// gridDim.y > 1 splits every row's inner range into gridDim.y chunks: reduce_* writes one partial
// state per (row, chunk) and reduce_finish_* merges them, so few huge rows still fill the GPU.
//
// All accumulation is in double (as the CPU backend does for f32 too); Var and LogSumExp are two
// passes driven by the host (mean / max into `center`, then squared deviations / exp sums).

#define RBLOCK 256

// Accumulation kinds.
#define RK_SUM 0
#define RK_MAX 1
#define RK_MIN 2
#define RK_SQDEV 3  // sum of (x - center[r])^2
#define RK_EXPSUM 4 // sum of exp(x - center[r])
#define RK_ARGMAX 5
#define RK_ARGMIN 6

// Finishing modes (what a row's final state becomes).
#define RF_SUM 0           // y = s
#define RF_MEAN 1          // y = s / inner
#define RF_VALUE 2         // y = s (max, min)
#define RF_CENTER_MEAN 3   // center[r] = s / inner
#define RF_CENTER_VALUE 4  // center[r] = s
#define RF_VAR 5           // y = s / max(inner - correction, 0)
#define RF_LSE 6           // y = center[r] + log(s), or center[r] itself when it is +-inf or NaN
#define RF_ARG 7           // yi = index (0 for an empty row)

struct RState
{
    double v;
    long long i; // arg kinds: index of v in the row, -1 = no element yet
};

__device__ __forceinline__ double r_inf() { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ bool r_nan(double v) { return v != v; }
__device__ __forceinline__ bool r_finite(double v) { return v - v == 0.0; }

// Offsets (elements) of linear element i in operands 0..K-1 of g (see elementwise.cu).
template <int K>
__device__ __forceinline__ void r_offsets(const Geom& g, long long i, long long* off)
{
    for (int k = 0; k < K; k++) off[k] = 0;
    if (g.n <= 0x7fffffffLL)
    {
        unsigned int u = (unsigned int)i;
        for (int d = GEOM_MAX_RANK - 1; d > 0; d--)
        {
            if (d >= g.rank) continue;
            unsigned int s = (unsigned int)g.shape[d];
            unsigned int q = u / s;
            long long r = (long long)(u - q * s);
            for (int k = 0; k < K; k++) off[k] += r * g.strides[k * GEOM_MAX_RANK + d];
            u = q;
        }
        for (int k = 0; k < K; k++) off[k] += (long long)u * g.strides[k * GEOM_MAX_RANK];
    }
    else
    {
        long long u = i;
        for (int d = GEOM_MAX_RANK - 1; d > 0; d--)
        {
            if (d >= g.rank) continue;
            long long s = g.shape[d];
            long long q = u / s;
            long long r = u - q * s;
            for (int k = 0; k < K; k++) off[k] += r * g.strides[k * GEOM_MAX_RANK + d];
            u = q;
        }
        for (int k = 0; k < K; k++) off[k] += u * g.strides[k * GEOM_MAX_RANK];
    }
}

template <int KIND> __device__ __forceinline__ RState r_identity()
{
    RState s;
    s.v = KIND == RK_MAX ? -r_inf() : KIND == RK_MIN ? r_inf() : 0.0;
    s.i = -1;
    return s;
}

// Folds element j (value v) into s; a thread sees its elements in increasing j.
template <int KIND> __device__ __forceinline__ void r_accum(RState& s, double v, long long j, double c)
{
    switch (KIND)
    {
        case RK_SUM: s.v += v; break;
        case RK_SQDEV: { double d = v - c; s.v += d * d; break; }
        case RK_EXPSUM: s.v += exp(v - c); break;
        case RK_MAX: if (!r_nan(s.v) && (r_nan(v) || v > s.v)) s.v = v; break; // NaN sticks
        case RK_MIN: if (!r_nan(s.v) && (r_nan(v) || v < s.v)) s.v = v; break;
        case RK_ARGMAX:
            if (s.i < 0 || (!r_nan(s.v) && (r_nan(v) || v > s.v))) { s.v = v; s.i = j; }
            break;
        case RK_ARGMIN:
            if (s.i < 0 || (!r_nan(s.v) && (r_nan(v) || v < s.v))) { s.v = v; s.i = j; }
            break;
        default: break;
    }
}

// Merges two states. Arg kinds pick the first NaN, else the extreme value with the lowest index,
// whatever the order of a and b (the first index on ties, like the CPU's sequential scan).
template <int KIND> __device__ __forceinline__ RState r_merge(RState a, RState b)
{
    switch (KIND)
    {
        case RK_SUM:
        case RK_SQDEV:
        case RK_EXPSUM:
            a.v += b.v;
            return a;
        case RK_MAX:
            if (r_nan(a.v)) return a;
            if (r_nan(b.v)) return b;
            return b.v > a.v ? b : a;
        case RK_MIN:
            if (r_nan(a.v)) return a;
            if (r_nan(b.v)) return b;
            return b.v < a.v ? b : a;
        case RK_ARGMAX:
        case RK_ARGMIN:
        {
            if (b.i < 0) return a;
            if (a.i < 0) return b;
            bool an = r_nan(a.v), bn = r_nan(b.v);
            if (an || bn)
            {
                if (an && bn) return a.i <= b.i ? a : b;
                return an ? a : b;
            }
            if (KIND == RK_ARGMAX ? b.v > a.v : b.v < a.v) return b;
            if (KIND == RK_ARGMAX ? a.v > b.v : a.v < b.v) return a;
            return a.i <= b.i ? a : b;
        }
        default:
            return a;
    }
}

template <typename T>
__device__ __forceinline__ void r_finish(RState s, int fin, long long r, long long yoff, T* y, int* yi,
    double* center, long long inner, int correction)
{
    switch (fin)
    {
        case RF_SUM: y[yoff] = (T)s.v; break;
        case RF_MEAN: y[yoff] = (T)(s.v / (double)inner); break;
        case RF_VALUE: y[yoff] = (T)s.v; break;
        case RF_CENTER_MEAN: center[r] = s.v / (double)inner; break;
        case RF_CENTER_VALUE: center[r] = s.v; break;
        case RF_VAR:
        {
            long long dof = inner - (long long)correction;
            if (dof < 0) dof = 0;
            y[yoff] = (T)(s.v / (double)dof);
            break;
        }
        case RF_LSE:
        {
            double c = center[r];
            y[yoff] = (T)(r_finite(c) ? c + log(s.v) : c);
            break;
        }
        case RF_ARG: yi[yoff] = s.i < 0 ? 0 : (int)s.i; break;
        default: break;
    }
}

// Shared-memory tree over the `lanes` states of each row; the row's total ends in its lane-0 slot.
// Called by every thread of the block (it holds barriers).
template <int KIND>
__device__ __forceinline__ RState r_tree(RState s, double* s_v, long long* s_i, int slot, int tx, int lanes)
{
    const bool arg = KIND == RK_ARGMAX || KIND == RK_ARGMIN;
    s_v[slot] = s.v;
    if (arg) s_i[slot] = s.i;
    __syncthreads();
    for (int h = lanes >> 1; h > 0; h >>= 1)
    {
        if (tx < h)
        {
            RState a, b;
            a.v = s_v[slot]; a.i = arg ? s_i[slot] : -1;
            b.v = s_v[slot + h]; b.i = arg ? s_i[slot + h] : -1;
            a = r_merge<KIND>(a, b);
            s_v[slot] = a.v;
            if (arg) s_i[slot] = a.i;
        }
        __syncthreads();
    }
    RState t;
    t.v = s_v[slot];
    t.i = arg ? s_i[slot] : -1;
    return t; // meaningful in lane 0
}

template <typename T, int KIND>
__device__ void reduce_body(T* y, int* yi, double* center, double* part_v, long long* part_i, const T* x,
    const Geom& gr, const Geom& gi, long long inner, int fin, int lanes, int row_lanes, int correction,
    double* s_v, long long* s_i)
{
    const int tid = threadIdx.x;
    const int rows_per_block = blockDim.x / lanes;
    int tx, ty;
    if (row_lanes) { ty = tid % rows_per_block; tx = tid / rows_per_block; }
    else { tx = tid % lanes; ty = tid / lanes; }
    const int slot = ty * lanes + tx;
    const long long rows = gr.n;
    const long long splits = gridDim.y, split = blockIdx.y;
    const long long chunk = (inner + splits - 1) / splits;
    const long long j0 = split * chunk;
    const long long j1 = j0 + chunk < inner ? j0 + chunk : inner;
    const bool centered = KIND == RK_SQDEV || KIND == RK_EXPSUM;

    for (long long rg = blockIdx.x; rg * rows_per_block < rows; rg += gridDim.x)
    {
        const long long r = rg * rows_per_block + ty;
        RState s = r_identity<KIND>();
        long long off[2] = { 0, 0 };
        if (r < rows)
        {
            r_offsets<2>(gr, r, off);
            const T* xr = x + off[1];
            const double c = centered ? center[r] : 0.0;
            // LogSumExp of a row whose max is +-inf or NaN is that max: no exp sum needed.
            if (!(KIND == RK_EXPSUM && !r_finite(c)))
            {
                if (gi.rank == 1)
                {
                    const long long st = gi.strides[0];
                    for (long long j = j0 + tx; j < j1; j += lanes) r_accum<KIND>(s, (double)xr[j * st], j, c);
                }
                else
                {
                    for (long long j = j0 + tx; j < j1; j += lanes)
                    {
                        long long o[1];
                        r_offsets<1>(gi, j, o);
                        r_accum<KIND>(s, (double)xr[o[0]], j, c);
                    }
                }
            }
        }
        RState t = r_tree<KIND>(s, s_v, s_i, slot, tx, lanes);
        if (tx == 0 && r < rows)
        {
            if (part_v)
            {
                part_v[r * splits + split] = t.v;
                if (KIND == RK_ARGMAX || KIND == RK_ARGMIN) part_i[r * splits + split] = t.i;
            }
            else r_finish<T>(t, fin, r, off[0], y, yi, center, inner, correction);
        }
    }
}

template <typename T, int KIND>
__device__ void reduce_finish_body(T* y, int* yi, double* center, const double* part_v, const long long* part_i,
    const Geom& gr, long long splits, long long inner, int fin, int lanes, int correction, double* s_v, long long* s_i)
{
    const int tid = threadIdx.x;
    const int rows_per_block = blockDim.x / lanes;
    const int tx = tid % lanes, ty = tid / lanes;
    const int slot = ty * lanes + tx;
    const long long rows = gr.n;
    const bool arg = KIND == RK_ARGMAX || KIND == RK_ARGMIN;

    for (long long rg = blockIdx.x; rg * rows_per_block < rows; rg += gridDim.x)
    {
        const long long r = rg * rows_per_block + ty;
        RState s = r_identity<KIND>();
        long long off[2] = { 0, 0 };
        if (r < rows)
        {
            r_offsets<2>(gr, r, off);
            for (long long k = tx; k < splits; k += lanes)
            {
                RState p;
                p.v = part_v[r * splits + k];
                p.i = arg ? part_i[r * splits + k] : -1;
                s = r_merge<KIND>(s, p);
            }
        }
        RState t = r_tree<KIND>(s, s_v, s_i, slot, tx, lanes);
        if (tx == 0 && r < rows) r_finish<T>(t, fin, r, off[0], y, yi, center, inner, correction);
    }
}

#define REDUCE_KINDS(M) M(RK_SUM) M(RK_MAX) M(RK_MIN) M(RK_SQDEV) M(RK_EXPSUM) M(RK_ARGMAX) M(RK_ARGMIN)

// One pass of a reduction. y (T) or yi (i32, arg kinds) is written through gr's operand 0 when
// gridDim.y == 1; otherwise part_v/part_i[r * gridDim.y + blockIdx.y] get the partial states.
// center: per-row double, read by RK_SQDEV/RK_EXPSUM, written by RF_CENTER_*.
#define REDUCE_KERNEL(TN, T) \
    extern "C" __global__ void reduce_##TN(T* y, int* yi, double* center, double* part_v, long long* part_i, \
        const T* x, Geom gr, Geom gi, long long inner, int kind, int fin, int lanes, int row_lanes, int correction) \
    { \
        __shared__ double s_v[RBLOCK]; \
        __shared__ long long s_i[RBLOCK]; \
        switch (kind) \
        { \
            REDUCE_KINDS(REDUCE_CASE_##TN) \
            default: break; \
        } \
    } \
    extern "C" __global__ void reduce_finish_##TN(T* y, int* yi, double* center, const double* part_v, \
        const long long* part_i, Geom gr, long long splits, long long inner, int kind, int fin, int lanes, int correction) \
    { \
        __shared__ double s_v[RBLOCK]; \
        __shared__ long long s_i[RBLOCK]; \
        switch (kind) \
        { \
            REDUCE_KINDS(FINISH_CASE_##TN) \
            default: break; \
        } \
    }

#define REDUCE_CASE_f32(K) case K: reduce_body<float, K>(y, yi, center, part_v, part_i, x, gr, gi, inner, fin, lanes, row_lanes, correction, s_v, s_i); break;
#define REDUCE_CASE_f64(K) case K: reduce_body<double, K>(y, yi, center, part_v, part_i, x, gr, gi, inner, fin, lanes, row_lanes, correction, s_v, s_i); break;
#define FINISH_CASE_f32(K) case K: reduce_finish_body<float, K>(y, yi, center, part_v, part_i, gr, splits, inner, fin, lanes, correction, s_v, s_i); break;
#define FINISH_CASE_f64(K) case K: reduce_finish_body<double, K>(y, yi, center, part_v, part_i, gr, splits, inner, fin, lanes, correction, s_v, s_i); break;

REDUCE_KERNEL(f32, float)
REDUCE_KERNEL(f64, double)
