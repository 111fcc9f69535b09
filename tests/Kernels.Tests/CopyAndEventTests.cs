using System.Runtime.InteropServices;

namespace Testbed.Kernels.Tests;

/// <summary>Device-to-device and pinned host copies queued on streams, and timing events, on every backend.</summary>
public sealed class CopyAndEventTests
{
    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Device_to_device_copy_on_a_stream(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var stream = acc.CreateStream();
        var data = Enumerable.Range(0, 5000).Select(i => (long)i * i).ToArray();
        using var a = acc.Allocate1D(data);
        using var b = acc.Allocate1D<long>(data.Length);
        b.CopyFrom(stream, a);
        stream.Synchronize();
        Assert.Equal(data, b.GetAsArray1D());
        using var c = acc.Allocate1D<long>(data.Length);
        c.CopyFrom(b);
        Assert.Equal(data, c.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Sub_view_copies_touch_only_their_elements(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var buffer = acc.Allocate1D<int>(4096);
        var page = Enumerable.Range(1, 1024).ToArray();
        buffer.View.SubView(2048, 1024).CopyFromCPU(page);
        var back = new int[1024];
        buffer.View.SubView(2048, 1024).CopyToCPU(back);
        Assert.Equal(page, back);
        var all = buffer.GetAsArray1D();
        Assert.All(all[..2048], v => Assert.Equal(0, v));
        Assert.Equal(page, all[2048..3072]);
        Assert.All(all[3072..], v => Assert.Equal(0, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.View.SubView(4000, 96).CopyFromCPU(page));
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public unsafe void Pinned_host_memory_copies_both_ways_asynchronously(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var host = (int*)NativeMemory.AlignedAlloc(4096 * sizeof(int), 4096);
        try
        {
            for (var i = 0; i < 4096; i++)
            {
                host[i] = i * 3;
            }

            using var pinned = acc.MapHost(host, 4096);
            using var device = acc.Allocate1D<int>(4096);
            device.CopyFrom(acc.DefaultStream, pinned);
            acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(4096, device.View, device.View, 2);
            pinned.CopyFrom(acc.DefaultStream, device);
            acc.Synchronize();
            for (var i = 0; i < 4096; i++)
            {
                Assert.Equal((i * 3 * 2) + 1, host[i]);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Events_time_the_work_between_them(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var counters = acc.Allocate1D<int>(64);
        var launch = acc.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(ConformanceKernels.Count);
        launch(acc.DefaultStream, 1000, counters.View, 1);
        using var start = acc.DefaultStream.RecordEvent();
        launch(acc.DefaultStream, 200_000, counters.View, 20);
        using var end = acc.DefaultStream.RecordEvent();
        var elapsed = AcceleratorEvent.Elapsed(start, end);
        Assert.InRange(elapsed, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(60));
        Assert.Equal((1000 * 1) + (200_000 * 20), counters.GetAsArray1D().Sum());
    }

    [Fact]
    public void Copies_across_accelerators_are_rejected()
    {
        using var a = Backends.Create(AcceleratorType.Cpu);
        using var b = Backends.Create(AcceleratorType.Cpu);
        using var x = a.Allocate1D<int>(4);
        using var y = b.Allocate1D<int>(4);
        using var small = a.Allocate1D<int>(2);
        Assert.Throws<ArgumentException>(() => x.CopyFrom(y));
        Assert.Throws<ArgumentException>(() => x.CopyFrom(b.DefaultStream, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => small.CopyFrom(x));
    }
}
