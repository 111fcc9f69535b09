using System.Runtime.InteropServices;
using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>
/// What only a CUDA device can show (the conformance theories run on it too, wherever one exists):
/// whether its atomics on registered host memory are atomic with respect to the CPU's, as its
/// host-native-atomic attribute says, and that a view of another accelerator's memory is refused by
/// argument instead of handing the GPU a host pointer.
/// </summary>
public sealed class CudaTests
{
    [CudaFact]
    public unsafe void Host_atomics_racing_device_atomics_on_registered_memory_lose_updates_only_without_host_native_atomics()
    {
        using var runner = Runners.Create(AcceleratorKind.Cuda);
        var host = (long*)NativeMemory.AlignedAlloc(4096, 4096);
        *host = 0;
        try
        {
            using var mapped = runner.MapHost(host, 1);
            var stop = false;
            long hostOps = 0;
            var racer = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    Interlocked.Increment(ref *host);
                    hostOps++;
                }
            });
            racer.Start();
            const int DeviceOps = 1 << 22;
            runner.LoadAutoGroupedStreamKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(DeviceOps, mapped.View, 1L);
            runner.Synchronize();
            Volatile.Write(ref stop, true);
            racer.Join();
            var lost = DeviceOps + hostOps - Volatile.Read(ref *host);
            Console.WriteLine($"cuda {runner.Name}: host-native atomics {runner.HostAtomicsCoherent}; {DeviceOps} device adds, {hostOps} host adds, {lost} lost");
            Assert.True(runner.HostAtomicsCoherent ? lost == 0 : lost >= 0, $"lost {lost} with HostAtomicsCoherent={runner.HostAtomicsCoherent}");
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }

    [CudaFact]
    public void A_view_of_another_accelerators_memory_is_refused_by_argument()
    {
        using var cuda = Runners.Create(AcceleratorKind.Cuda);
        using var cpu = Runners.Create(AcceleratorKind.Cpu);
        using var mine = cuda.Allocate1D<int>(16);
        using var theirs = cpu.Allocate1D<int>(16);
        var map = cuda.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map);
        var e = Assert.Throws<ArgumentException>(() => map(16, mine.View, theirs.View, 3));
        Assert.StartsWith("Launch of ConformanceKernels.Map: argument 2 is a view of memory of another accelerator", e.Message, StringComparison.Ordinal);
    }
}
