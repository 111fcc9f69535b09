using System.Reflection;

namespace Testbed.Kernels.Tests;

/// <summary>The generator ran on this assembly: every [Kernel] has registered OpenCL C and CUDA C.</summary>
public sealed class KernelRegistryTests
{
    public static TheoryData<string> Kernels => [.. typeof(ConformanceKernels).GetMethods().Where(m => m.GetCustomAttribute<KernelAttribute>() is not null).Select(m => m.Name)];

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Every_conformance_kernel_has_both_translations(string name)
    {
        var source = KernelRegistry.Find(typeof(ConformanceKernels).GetMethod(name)!);
        Assert.NotNull(source);
        Assert.Equal($"ConformanceKernels_{name}", source.EntryPoint);
        Assert.Contains($"__kernel void ConformanceKernels_{name}(int __extent", source.For(AcceleratorType.OpenCl));
        Assert.Contains($"extern \"C\" __global__ void ConformanceKernels_{name}(int __extent", source.For(AcceleratorType.Cuda));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.For(AcceleratorType.Cpu));
        Assert.Contains(source, KernelRegistry.All);
    }

    [Fact]
    public void A_method_without_generated_source_is_not_found()
    {
        Assert.Null(KernelRegistry.Find(typeof(KernelRegistryTests).GetMethod(nameof(A_method_without_generated_source_is_not_found))!));
    }
}
