using System.Runtime.InteropServices;
using Testbed.Kernels.Cpu;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The exclusivity check must be able to fail: with the emulated non-coherent link, kernel atomics
/// on host-mapped memory racing CPU atomics lose updates; with a coherent link none are lost. Both
/// backends that offer the setting (Cpu, and OpenCl on PoCL) are checked.
/// </summary>
public sealed class NonCoherentTests
{
    public static TheoryData<AcceleratorType, bool> Cases
    {
        get
        {
            var data = new TheoryData<AcceleratorType, bool>();
            foreach (var type in Enum.GetValues<AcceleratorType>().Where(t => t is AcceleratorType.Cpu or AcceleratorType.OpenCl && Backends.Missing(t) is null))
            {
                data.Add(type, false);
                data.Add(type, true);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void Non_coherent_host_atomics_lose_updates_and_coherent_ones_do_not(AcceleratorType type, bool nonCoherent)
    {
        using var acc = Backends.Create(type);
        // A long link round trip and groups of 64, so device groups run on every worker while the
        // host racer gets its time slices: the race is structural, not a matter of luck.
        var link = (INonCoherentLinkEmulation)acc;
        link.NonCoherentHostAtomics = nonCoherent;
        link.NonCoherentLinkDelaySpins = acc is CpuAccelerator ? 1000 : 20_000;

        Assert.Equal(!nonCoherent, acc.HostAtomicsCoherent);
        var p = (long*)NativeMemory.AlignedAlloc(4096, 4096);
        *p = 0;
        try
        {
            using var mapped = acc.MapHost(p, 1);
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
            acc.LoadStreamKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(acc.DefaultStream, DeviceOps, 64, mapped.View, 1L);
            acc.Synchronize();
            Volatile.Write(ref stop, true);
            racer.Join();
            var lost = DeviceOps + hostDone - Volatile.Read(ref *p);
            Assert.True(nonCoherent == (lost > 0), $"lost {lost} of {DeviceOps + hostDone} (device {DeviceOps}, host {hostDone})");
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void Device_atomics_on_host_memory_stay_atomic_among_themselves(AcceleratorType type, bool nonCoherent)
    {
        using var acc = Backends.Create(type);
        var link = (INonCoherentLinkEmulation)acc;
        link.NonCoherentHostAtomics = nonCoherent;
        link.NonCoherentLinkDelaySpins = 200;
        var p = (long*)NativeMemory.AlignedAlloc(4096, 4096);
        *p = 0;
        try
        {
            using var mapped = acc.MapHost(p, 1);
            acc.LoadStreamKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(acc.DefaultStream, 20_000, 64, mapped.View, 1L);
            acc.Synchronize();
            Assert.Equal(20_000, *p);
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Atomics_on_device_memory_stay_atomic_in_non_coherent_mode(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        if (acc is INonCoherentLinkEmulation link)
        {
            link.NonCoherentHostAtomics = true;
        }

        using var counters = acc.Allocate1D<int>(1);
        acc.LoadAutoGroupedKernel<ArrayView<int>, int>(ConformanceKernels.Count)(50_000, counters.View, 4);
        Assert.Equal(200_000, counters.GetAsArray1D()[0]);
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public unsafe void Host_mappings_are_tracked_until_disposed(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var p = (int*)NativeMemory.AlignedAlloc(8192, 4096);
        try
        {
            var mapped = acc.MapHost(p, 2048);
            Assert.Equal([((nuint)p, (nuint)p + 8192)], acc.HostMappedRanges());
            using var device = acc.Allocate1D<int>(16);
            Assert.Single(acc.HostMappedRanges());
            mapped.Dispose();
            Assert.Empty(acc.HostMappedRanges());
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }
}
