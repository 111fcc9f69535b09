using Testbed.Kernels.Cuda;

namespace Testbed.Kernels.Tests;

/// <summary>A fact that runs only where NVRTC loads, and says what was searched otherwise.</summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    public NvrtcFactAttribute()
    {
        if (!Nvrtc.IsAvailable(out var reason))
        {
            Skip = $"NVRTC unavailable: {reason}";
        }
    }
}

/// <summary>Every generated CUDA kernel compiles with NVRTC, so CUDA code is checked on machines without a GPU.</summary>
public sealed class NvrtcTests
{
    [NvrtcFact]
    public void Every_registered_kernel_compiles_to_ptx_with_its_entry_point()
    {
        Assert.NotNull(KernelRegistry.Find(typeof(ConformanceKernels).GetMethod(nameof(ConformanceKernels.Map))!));
        Assert.NotEmpty(KernelRegistry.All);
        Assert.True(Nvrtc.Version >= new Version(11, 2));
        Assert.All(KernelRegistry.All, source =>
        {
            var result = Nvrtc.Compile(source.Cuda, source.EntryPoint);
            Assert.True(result.Succeeded, $"{source.EntryPoint}:\n{result.Log}\n{source.Cuda}");
            Assert.Contains($".entry {source.EntryPoint}(", result.Ptx);
        });
    }

    [NvrtcFact]
    public void A_compile_error_comes_back_with_the_compilers_log()
    {
        var result = Nvrtc.Compile("extern \"C\" __global__ void Broken(int* p) { p[0] = undefined_name; }", "Broken");
        Assert.False(result.Succeeded);
        Assert.Contains("NVRTC_ERROR_COMPILATION", result.Log);
        Assert.Contains("undefined_name", result.Log);
    }
}
