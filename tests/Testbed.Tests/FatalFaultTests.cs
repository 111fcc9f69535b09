using Testbed.Driver;
using Testbed.HostMm;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// A kernel touching an address the CPU cannot access either gets a fatal fault (UVM's fault cancel):
/// the run reports it with the address, the items that reach the page are cancelled, every other
/// item completes, and nothing outside what the cancelled items did before is changed.
/// </summary>
public sealed class FatalFaultTests
{
    private const int Pages = 12;
    private const int HoleFirst = 4;
    private const int HolePages = 3;

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Adds_into_an_unmapped_hole_cancel_only_the_items_that_reach_it(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var words = Pages * t.WordsPerPage;
        var before = Enumerable.Range(0, words).Select(i => i * 7).ToArray();
        t.CpuWrite(va, before);
        var hole = va + (HoleFirst * (ulong)t.PageSize);
        Assert.Equal(Errno.Ok, t.Mm.Munmap(hole, HolePages * (ulong)t.PageSize));
        var mirror = t.Mirror(va, Pages);

        // Item i targets (i + k * items) * stride mod span: items whose walk crosses the hole are cancelled there.
        var work = DeviceWork.Adds(items: 64, opsPerItem: 40, firstWord: 0, span: words, stride: 97);
        Assert.Equal(Errno.EFAULT, mirror.Run(work));

        var fatal = mirror.FatalFaults;
        Assert.Equal(Enumerable.Range(HoleFirst, HolePages).Select(p => va + ((ulong)p * (ulong)t.PageSize)), fatal.Select(f => f.Address).Order());
        Assert.All(fatal, f => Assert.Equal((FaultAccess.Atomic, Errno.EFAULT), (f.Access, f.Error)));
        Assert.StartsWith("fatal device fault: Atomic at 0x", mirror.LastError);
        Assert.Contains("work items cancelled, the others completed", mirror.LastError);

        var expected = (int[])before.Clone();
        var cancelled = 0;
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                var w = work.Target(i, k);
                if (InHole(w, t.WordsPerPage))
                {
                    cancelled++;
                    break;
                }

                expected[w]++;
            }
        }

        Assert.InRange(cancelled, 1, work.Items - 1);
        Assert.Equal(cancelled, mirror.Counters.CancelledItems);
        Assert.Equal(HolePages, mirror.Counters.FatalFaults);
        for (var w = 0; w < words; w++)
        {
            if (!InHole(w, t.WordsPerPage))
            {
                Assert.True(expected[w] == CpuWord(t, va, w), $"word {w}: expected {expected[w]}, read {CpuWord(t, va, w)}");
            }
        }

        // The hole is still a hole, and mapping it again shows that the device wrote nothing there.
        Assert.Equal(Errno.EFAULT, t.Cpu.Read(hole, out int _));
        Assert.Equal(Errno.Ok, t.Mm.Mmap(hole, HolePages * (ulong)t.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _));
        Assert.All(t.CpuRead(hole, HolePages * t.WordsPerPage), v => Assert.Equal(0, v));

        // The device is ready for the next run: no fatal marks left behind.
        var edge = HoleFirst * t.WordsPerPage;
        var again = DeviceWork.Adds(items: 64, opsPerItem: 8, firstWord: edge - 256, span: 512, stride: 1);
        Assert.Equal(Errno.Ok, mirror.Run(again));
        Assert.Empty(mirror.FatalFaults);
        Assert.Equal(expected[edge - 1] + 1, CpuWord(t, va, edge - 1));
        Assert.Equal(1, CpuWord(t, va, edge));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void A_store_to_a_read_only_page_is_fatal_with_EPERM_and_the_writable_page_still_takes_its_stores(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(2);
        t.CpuWrite(va + (ulong)t.PageSize, [5, 6, 7]);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(va + (ulong)t.PageSize, (ulong)t.PageSize, Prot.Read));
        var mirror = t.Mirror(va, 2);
        var data = Enumerable.Range(1, 2 * t.WordsPerPage).ToArray();
        Assert.Equal(Errno.EPERM, mirror.Write(va, data));
        var f = Assert.Single(mirror.FatalFaults);
        Assert.Equal((va + (ulong)t.PageSize, FaultAccess.Write, Errno.EPERM), (f.Address, f.Access, f.Error));
        Assert.Equal(data[..t.WordsPerPage], t.CpuRead(va, t.WordsPerPage));
        Assert.Equal([5, 6, 7], t.CpuRead(va + (ulong)t.PageSize, 3));
        var read = new int[t.WordsPerPage];
        Assert.Equal(Errno.Ok, mirror.Read(va + (ulong)t.PageSize, read));
        Assert.Equal([5, 6, 7], read[..3]);
    }

    private static bool InHole(long word, int wordsPerPage) => word / wordsPerPage is >= HoleFirst and < HoleFirst + HolePages;

    private static int CpuWord(DriverFixture t, ulong va, long word)
    {
        Assert.Equal(Errno.Ok, t.Cpu.Read(va + ((ulong)word * sizeof(int)), out int v));
        return v;
    }

    [Fact]
    public void A_run_that_gives_up_leaves_no_fatal_mark_for_the_next_run()
    {
        const int pages = 3;
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(pages);
        var page2 = va + (2 * (ulong)t.PageSize);
        Assert.Equal(Errno.Ok, t.Mm.Munmap(page2, (ulong)t.PageSize));
        var stuck = true;
        var policy = new ScriptedPolicy(p => p == 0 && stuck ? Driver.Policies.GpuFaultAction.Throttle : Driver.Policies.GpuFaultAction.MapRemote);
        var mirror = t.Mirror(va, pages, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ReplayStallTimeout = TimeSpan.FromMilliseconds(200) });
        var work = DeviceWork.Adds(items: pages, opsPerItem: 1, firstWord: 0, span: pages * t.WordsPerPage, stride: t.WordsPerPage);

        // Page 0's fault is never serviced, so the run gives up; page 2's fault was fatal on the way.
        Assert.Equal(Errno.EBUSY, mirror.Run(work));
        Assert.Equal([page2], mirror.FatalFaults.Select(f => f.Address));
        Assert.NotEqual(DevicePte.Fatal, mirror.Lookup(page2));

        // With page 2 mapped again and page 0 serviced, the next run completes every item: page 1
        // holds both runs' adds, pages 0 and 2 the second run's.
        Assert.Equal(Errno.Ok, t.Mm.Mmap(page2, (ulong)t.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _));
        stuck = false;
        Assert.Equal(Errno.Ok, mirror.Run(work));
        Assert.Equal([1, 2, 1], Enumerable.Range(0, pages).Select(p => t.CpuRead(va + ((ulong)p * (ulong)t.PageSize), 1)[0]));
    }
}
