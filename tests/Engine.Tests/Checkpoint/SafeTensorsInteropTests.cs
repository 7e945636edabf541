// Files crossing to other implementations:
//  - the Python reference reader (safetensors_ref.py verify, numpy, written from the format
//    description) reads a file we wrote, finds the values we wrote, and re-serializing them with
//    the reference writer's rules gives our bytes exactly (--canonical);
//  - the real safetensors package (safetensors.torch.load_file) reads our file, and we load a
//    file it wrote (save_file) with the values it reports. These need torch and safetensors in
//    the test Python (ENGINE_TEST_PYTHON, else /usr/bin/python3) and skip, with the reason,
//    where they are missing; scripts/verify-safetensors-gpu.sh runs them on a machine that has
//    them and fails on a skip.
using System.Text.Json;
using Engine.Models.Checkpoint;
using Engine.Tests.Imaging;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Checkpoint.CheckpointTestSupport;

namespace Engine.Tests.Checkpoint;

public class SafeTensorsInteropTests
{
    private static (string File, string Expected) WriteOurs(TempDir tmp, System.Random rng)
    {
        var tensors = SafeTensorsWriteTests.Sample(rng, Device.Cpu);
        tensors["zz.transposed"] = Tensor.FromArray(TestData.Floats(rng, 6), [2, 3]).Transpose(0, 1);
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["engine.note"] = "résumé \"quoted\"\n✓" };
        string file = tmp.File("ours.safetensors"), expected = tmp.File("ours.json");
        SafeTensors.Save(file, tensors, meta);
        File.WriteAllText(expected, ExpectedJson(tensors, meta));
        return (file, expected);
    }

    [Fact]
    public void PythonReferenceReader_ReadsOurFile_AndOurBytesAreCanonical()
    {
        PythonRef.RequireNumpy();
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        var (file, expected) = WriteOurs(tmp, TestData.Rng());
        var (rc, output) = PythonRef.RunScript("verify", file, expected, "--canonical");
        Assert.True(rc == 0, $"safetensors_ref.py verify failed (exit {rc}):\n{output}");
        Assert.Contains("PASS", output);
    }

    [Fact]
    public void PythonReferenceReader_CatchesAWrongValue()
    {
        // The check above can fail: one flipped bit in the data is reported.
        PythonRef.RequireNumpy();
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        var (file, expected) = WriteOurs(tmp, TestData.Rng());
        byte[] b = File.ReadAllBytes(file);
        var h = SafeTensors.ReadHeader(file);
        b[h.DataStart + h["vq.codes"].Begin] ^= 1;
        File.WriteAllBytes(file, b);
        var (rc, output) = PythonRef.RunScript("verify", file, expected);
        Assert.True(rc == 1, $"expected FAIL, got exit {rc}:\n{output}");
        Assert.Contains("'vq.codes' element 0", output);
    }

    [Fact]
    public void SafetensorsPackage_ReadsOurFile()
    {
        PythonRef.RequireNumpy();
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        var (file, expected) = WriteOurs(tmp, TestData.Rng());
        var (rc, output) = PythonRef.RunScript("verify-package", file, expected);
        Assert.True(rc == 0, $"safetensors.torch.load_file on our file failed (exit {rc}):\n{output}");
        Assert.Contains("PASS", output);
    }

    [Fact]
    public void WeLoad_AFileWrittenBySafetensorsPackage()
    {
        PythonRef.RequireNumpy();
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        string file = tmp.File("torch.safetensors"), expectedPath = tmp.File("torch.json");
        var (rc, output) = PythonRef.RunScript("write-package", file, expectedPath);
        Assert.True(rc == 0, $"safetensors.torch.save_file failed (exit {rc}):\n{output}");
        using var doc = JsonDocument.Parse(File.ReadAllText(expectedPath));
        var (expected, meta) = ReadExpected(doc.RootElement);
        var (tensors, metadata) = SafeTensors.Load(file, new SafeTensorsLoadOptions { ConvertHalfToF32 = true, ConvertIntegersToI32 = true });
        Assert.Equal(meta, metadata);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected) AssertTensor(name, e, tensors[name]);
    }
}
