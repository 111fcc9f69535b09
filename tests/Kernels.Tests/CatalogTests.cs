using System.Runtime.InteropServices;
using ILGPU.Runtime.CPU;
using Testbed.Kernels.Accelerators;

namespace Testbed.Kernels.Tests;

/// <summary>The accelerator catalog: every accelerator available or saying why not, in a fixed order, and ilgpu-cpu's settings read strictly.</summary>
public sealed class CatalogTests
{
    [Fact]
    public void Every_accelerator_is_either_available_or_says_why_not_and_every_kind_is_listed()
    {
        var all = AcceleratorCatalog.All();
        Assert.All(all, e => Assert.True(e.IsAvailable ^ (e.UnavailableReason is not null), e.ToString()));
        Assert.Equal(AcceleratorKinds.All, all.Select(e => e.Kind).Distinct());
        Assert.True(all[0] is { Kind: AcceleratorKind.Cpu, IsAvailable: true });
        Assert.True(all[1] is { Kind: AcceleratorKind.IlgpuCpu, IsAvailable: true });
        Assert.All(all.Where(e => !e.IsAvailable), e => Assert.Contains(e.UnavailableReason!, Assert.Throws<InvalidOperationException>(e.CreateRunner).Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_cuda_driver_cuda_is_unavailable_naming_the_library()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out var handle))
        {
            NativeLibrary.Free(handle);
            Assert.Contains(AcceleratorCatalog.Cuda, e => e.Kind == AcceleratorKind.Cuda);
            return;
        }

        var cuda = Assert.Single(AcceleratorCatalog.Cuda);
        Assert.False(cuda.IsAvailable);
        Assert.Equal("libcuda.so.1 not found (no NVIDIA driver)", cuda.UnavailableReason);
    }

    [Fact]
    public void An_opencl_device_ilgpu_refuses_is_listed_with_ilgpus_reason()
    {
        if (!File.Exists("/etc/OpenCL/vendors/pocl.icd"))
        {
            Assert.All(AcceleratorCatalog.OpenCl, e => Assert.True(e.IsAvailable || e.UnavailableReason!.Length > 0));
            return;
        }

        // PoCL 3.1 (Debian 12), which test.sh installs, has no generic address space.
        Assert.Contains(AcceleratorCatalog.OpenCl, e => !e.IsAvailable && e.UnavailableReason!.Contains("GenericAddressSpace feature is not supported on this device", StringComparison.Ordinal));
    }

    /// <summary>
    /// PoCL replaces the process's SIGFPE handler when it initialises; left in place, a division by zero
    /// anywhere in the testbed then gave a wrong result silently (found when a kernel dividing by zero
    /// on the cpu runner stopped throwing after the OpenCL probe had run in the same test process).
    /// </summary>
    [Fact]
    public void Probing_the_gpu_drivers_leaves_dotnets_division_by_zero_exception_in_place()
    {
        _ = AcceleratorCatalog.OpenCl;
        _ = AcceleratorCatalog.Cuda;
        var zero = int.Parse("0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Throws<DivideByZeroException>(() => 12 / zero);
    }

    [Fact]
    public void Auto_picks_the_first_available_of_cuda_opencl_and_cpu()
    {
        var expected = new[] { AcceleratorKind.Cuda, AcceleratorKind.OpenCl, AcceleratorKind.Cpu }.First(k => AcceleratorCatalog.Find(k).IsAvailable);
        Assert.Equal(expected, AcceleratorCatalog.Auto().Kind);
        Assert.Equal(AcceleratorKind.IlgpuCpu, AcceleratorKinds.Parse("ilgpu-cpu"));
        Assert.Null(AcceleratorKinds.Parse("gpu"));
    }

    [Theory]
    [InlineData("2x1x1", 2, 1, 1, CPUAcceleratorMode.Auto)]
    [InlineData("4x2x2:sequential", 4, 2, 2, CPUAcceleratorMode.Sequential)]
    [InlineData("32x2x1:Parallel", 32, 2, 1, CPUAcceleratorMode.Parallel)]
    public void Ilgpu_cpu_settings_read_their_shape_and_mode(string text, int threads, int warps, int processors, CPUAcceleratorMode mode)
    {
        var s = IlgpuCpuSettings.Parse(text, out var problem);
        Assert.Null(problem);
        Assert.Equal(new IlgpuCpuSettings(threads, warps, processors, mode), s);
    }

    [Theory]
    [InlineData("3x1x1", "powers of two")]
    [InlineData("1x1x1", "powers of two")]
    [InlineData("2x3x1", "powers of two")]
    [InlineData("2x1", "is not TxWxM")]
    [InlineData("2x0x1", "is not TxWxM")]
    [InlineData("axbxc", "is not TxWxM")]
    [InlineData("2x1x1:fast", "auto, sequential or parallel")]
    [InlineData("32x4x1", "at most 64")]
    public void Ilgpu_cpu_settings_refuse_what_ilgpu_would_and_say_why(string text, string expected)
    {
        Assert.Null(IlgpuCpuSettings.Parse(text, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ilgpu_cpu_runner_has_the_shape_it_was_given()
    {
        using var runner = AcceleratorCatalog.IlgpuCpu(new IlgpuCpuSettings(4, 1, 2)).CreateRunner();
        var cpu = Assert.IsType<CPUAccelerator>(runner.Accelerator);
        Assert.Equal(4, cpu.WarpSize);
        Assert.Equal(2, cpu.NumMultiprocessors);
        Assert.Equal(AcceleratorKind.IlgpuCpu, runner.Kind);
        Assert.True(runner.RunsAlgorithms);
    }
}
