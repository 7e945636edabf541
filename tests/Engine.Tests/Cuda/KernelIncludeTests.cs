// kernels-cu headers included by .cu files (philox.cuh): the kernel library inlines each one once in
// place of its #include line, with #line directives so NVRTC's messages keep naming the header's and
// the file's own lines; headers must not include further files. Every shipped file that includes
// philox.cuh gets its text, and no #include of a kernels-cu header reaches NVRTC.
using Engine.Cuda;
using Engine.Cuda.Native;
using Xunit;

namespace Engine.Tests.Cuda;

public class KernelIncludeTests
{
    private static string Header(string name) => name switch
    {
        "a.cuh" => "#pragma once\n// a\n__device__ int a_value() { return 1; }\n",
        "nested.cuh" => "#include \"a.cuh\"\n",
        _ => throw new FileNotFoundException(name),
    };

    [Fact]
    public void IncludesAreInlinedOnceWithLineDirectives()
    {
        string text = "// line 1\n#include \"a.cuh\"\n#include \"a.cuh\"\nint line4;\n";
        string s = KernelLibrary.InlineIncludes("k.cu", text, Header);
        Assert.DoesNotContain("#include", s);
        Assert.Equal(1, CountOf(s, "a_value()"));
        Assert.Contains("#line 1 \"a.cuh\"", s);
        Assert.DoesNotContain("#pragma once", s);
        // after the first include the file resumes at line 3, after the (dropped) second at line 4
        Assert.Contains("#line 3 \"k.cu\"", s);
        Assert.Contains("#line 4 \"k.cu\"\nint line4;", s);
        Assert.StartsWith("// line 1\n", s);
    }

    [Fact]
    public void HeadersMustBeSelfContained()
    {
        var e = Assert.Throws<InvalidOperationException>(() => KernelLibrary.InlineIncludes("k.cu", "#include \"nested.cuh\"\n", Header));
        Assert.Contains("nested.cuh", e.Message);
        Assert.Contains("k.cu", e.Message);
    }

    [Fact]
    public void ShippedFilesGetPhiloxFromTheOneHeader()
    {
        foreach (var file in new[] { "random.cu", "gaussian.cu", "vq.cu" })
        {
            string src = KernelLibrary.Sources[file];
            Assert.DoesNotContain("#include \"philox.cuh\"", src);
            Assert.Equal(1, CountOf(src, "#define PHILOX_M0"));
            Assert.Contains("#line 1 \"philox.cuh\"", src);
        }
        // the header is the only place the Philox rounds are written
        foreach (var (file, text) in KernelLibrary.Sources)
            if (file is not ("random.cu" or "gaussian.cu" or "vq.cu")) Assert.DoesNotContain("PHILOX_M0", text);
        Assert.Equal(1, CountOf(KernelLibrary.Raw("philox.cuh"), "#define PHILOX_M0"));
    }

    [Fact]
    public void CompileErrorsAfterAnIncludeKeepTheFilesLineNumbers()
    {
        NativeResolver.Install();
        if (!NativeResolver.TryLoad("nvrtc", out _, out var err))
            Assert.Skip($"no NVRTC library on this machine ({err}); .ci/install-deps.sh installs libnvrtc11.2");
        string text = "#include \"philox.cuh\"\nextern \"C\" __global__ void broken_f32(float* y) {\n  y[0] = undefined_thing;\n}\n";
        string src = KernelLibrary.Compose("broken.cu", KernelLibrary.InlineIncludes("broken.cu", text, KernelLibrary.Raw), KernelLibrary.Raw("common.cuh"));
        var e = Assert.Throws<KernelCompileException>(() => Nvrtc.Compile(src, "broken.cu", "compute_75", KernelLibrary.Options));
        Assert.Contains("broken.cu(3)", e.Message);
    }

    private static int CountOf(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
