using System.Runtime.InteropServices;
using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The emulated non-coherent link is kernel code (<see cref="LinkEmulation"/>), so it must behave the
/// same on the direct cpu runner and on ILGPU's CPU accelerator: device adds on host memory racing CPU
/// atomics lose updates with it on and none with it off, and stay exact among themselves either way.
/// </summary>
public sealed class LinkEmulationTests
{
    private const int DelaySteps = 2000;

    public static TheoryData<AcceleratorKind, bool> Cases
    {
        get
        {
            var data = new TheoryData<AcceleratorKind, bool>();
            foreach (var kind in new[] { AcceleratorKind.Cpu, AcceleratorKind.IlgpuCpu })
            {
                data.Add(kind, false);
                data.Add(kind, true);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void Device_adds_across_an_emulated_link_lose_cpu_updates_and_across_a_coherent_one_do_not(AcceleratorKind kind, bool emulated)
    {
        using var runner = Runners.Create(kind);
        if (emulated)
        {
            runner.EmulateNonCoherentLink(DelaySteps);
        }

        Assert.Equal(!emulated, runner.HostAtomicsCoherent);
        Assert.Equal(emulated, runner.Link.IsEmulated);
        var p = (int*)NativeMemory.AlignedAlloc(4096, 4096);
        *p = 0;
        try
        {
            using var mapped = runner.MapHost(p, 1);
            const int DeviceOps = 20_000;
            var stop = false;
            var hostDone = 0L;
            using var running = new ManualResetEventSlim();
            var racer = new Thread(() =>
            {
                running.Set();
                while (!Volatile.Read(ref stop))
                {
                    Interlocked.Increment(ref *p);
                    hostDone++;
                }
            });
            racer.Start();
            Assert.True(running.Wait(TimeSpan.FromSeconds(10)));
            runner.LoadAutoGroupedStreamKernel<LinkEmulation, ArrayView<int>>(ConformanceKernels.LinkedAdds)(DeviceOps, runner.Link, mapped.View);
            runner.Synchronize();
            Volatile.Write(ref stop, true);
            racer.Join();
            var lost = DeviceOps + hostDone - Volatile.Read(ref *p);
            Assert.True(emulated == (lost > 0), $"lost {lost} of {DeviceOps + hostDone} (device {DeviceOps}, host {hostDone})");
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void Device_adds_on_host_memory_stay_atomic_among_themselves(AcceleratorKind kind, bool emulated)
    {
        using var runner = Runners.Create(kind);
        if (emulated)
        {
            runner.EmulateNonCoherentLink(50);
        }

        var p = (int*)NativeMemory.AlignedAlloc(4096, 4096);
        *p = 0;
        try
        {
            using var mapped = runner.MapHost(p, 1);
            runner.LoadAutoGroupedStreamKernel<LinkEmulation, ArrayView<int>>(ConformanceKernels.LinkedAdds)(20_000, runner.Link, mapped.View);
            runner.Synchronize();
            Assert.Equal(20_000, *p);
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [Fact]
    public void Turning_the_emulation_off_restores_the_native_link()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        runner.EmulateNonCoherentLink(10);
        Assert.False(runner.HostAtomicsCoherent);
        runner.EmulateNonCoherentLink(0);
        Assert.True(runner.HostAtomicsCoherent);
        Assert.False(runner.Link.IsEmulated);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.EmulateNonCoherentLink(-1));
    }
}
