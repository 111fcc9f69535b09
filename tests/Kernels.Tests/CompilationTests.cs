using Testbed.TestSupport;
using ILGPU;
using ILGPU.Runtime.Cuda;
using Testbed.Kernels.Compilation;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>
/// CUDA and OpenCL checked without a GPU: every kernel of the testbed compiled by ILGPU to PTX for
/// SM_80 and SM_90 (ISA 7.8) and assembled by <c>ptxas</c>, and to OpenCL C 2.0 and compiled by clang's
/// OpenCL front end, so a kernel a GPU driver would refuse fails here.
/// </summary>
public sealed class CompilationTests
{
    public static TheoryData<string> Kernels => [.. KernelCatalog.All.Select(KernelCatalog.NameOf)];

    public static TheoryData<string, string> KernelsAndArchitectures
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var k in KernelCatalog.All)
            {
                data.Add(KernelCatalog.NameOf(k), "sm_80");
                data.Add(KernelCatalog.NameOf(k), "sm_90");
            }

            return data;
        }
    }

    [PtxasTheory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void Every_kernels_ptx_assembles_with_ptxas_for_sm_80_and_sm_90(string kernel, string architecture)
    {
        Assert.True(Tools.Ptxas is not null, "ptxas not found, and this is a CI run: scripts/test.sh should have fetched it (scripts/fetch-ptxas.sh)");
        var ptx = KernelCompiler.Ptx(Find(kernel), architecture == "sm_90" ? CudaArchitecture.SM_90 : CudaArchitecture.SM_80);
        Assert.Contains(".version 7.8", ptx, StringComparison.Ordinal);

        // ILGPU targets the lowest architecture the kernel's features need (the driver compiles it up);
        // ptxas assembles it for the architecture asked.
        var target = int.Parse(System.Text.RegularExpressions.Regex.Match(ptx, @"\.target sm_(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(target, 50, int.Parse(architecture[3..], System.Globalization.CultureInfo.InvariantCulture));
        var output = Path.GetTempFileName();
        try
        {
            var (code, log) = TestProcess.Run(Tools.Ptxas!, ["-arch", architecture, "-o", output, "-"], ptx);
            Assert.True(code == 0, $"ptxas refused {kernel} for {architecture}:\n{log}");
            Assert.True(new FileInfo(output).Length > 0, "ptxas wrote no cubin");
        }
        finally
        {
            File.Delete(output);
        }
    }

    [ClangTheory]
    [MemberData(nameof(Kernels))]
    public void Every_kernels_opencl_c_compiles_with_clang(string kernel)
    {
        Assert.True(Tools.Clang is not null, "clang not found, and this is a CI run: scripts/test.sh should have installed it");
        var source = KernelCompiler.OpenClC(Find(kernel));
        Assert.Contains("kernel void", source, StringComparison.Ordinal);
        var (code, log) = TestProcess.Run(Tools.Clang!, ["-x", "cl", "-cl-std=CL2.0", "-Xclang", "-finclude-default-header", "-target", "spir64", "-c", "-emit-llvm", "-o", "/dev/null", "-"], source);
        Assert.True(code == 0, $"clang refused the OpenCL C of {kernel}:\n{log}");
    }

    [Fact]
    public void A_kernel_ilgpu_refuses_is_a_clear_error_and_the_compiler_keeps_working()
    {
        var refused = typeof(CompilationTests).GetMethod(nameof(Throws), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var e = Assert.Throws<KernelCompileException>(() => KernelCompiler.Ptx(refused, CudaArchitecture.SM_80));
        Assert.Contains("CompilationTests.Throws", e.Message, StringComparison.Ordinal);
        Assert.Contains(".target sm_80", KernelCompiler.Ptx(Find("ConformanceKernels.Map"), CudaArchitecture.SM_80), StringComparison.Ordinal);
    }

    [Fact]
    public void The_catalog_holds_every_kernel_family_and_tells_implicit_from_explicit_grouping()
    {
        var names = KernelCatalog.All.Select(KernelCatalog.NameOf).ToList();
        Assert.Contains("MirrorWorkload.DeviceOps", names);
        Assert.Contains("BenchmarkKernels.PlainAdds", names);
        Assert.Contains("AlgorithmKernels.FlipAccess", names);
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.False(KernelCatalog.IsImplicitlyGrouped(Find("ConformanceKernels.GroupSums")));
        Assert.True(KernelCatalog.IsImplicitlyGrouped(Find("ConformanceKernels.Map")));
    }

    private static System.Reflection.MethodInfo Find(string name) => KernelCatalog.All.Single(k => KernelCatalog.NameOf(k) == name);

    private static void Throws(Index1D i, ArrayView<int> data)
    {
        if (data[i] < 0)
        {
            throw new InvalidOperationException("negative");
        }
    }
}
