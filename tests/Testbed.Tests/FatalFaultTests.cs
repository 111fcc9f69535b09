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
        var err = mirror.Write(va, data);
        Assert.True(Errno.EPERM == err, $"{mirror.LastError} launches={mirror.Counters.Launches} fatal={mirror.FatalFaults.Count} cancelled={mirror.Counters.CancelledItems} first={mirror.FatalFaults.FirstOrDefault()}");
        var f = Assert.Single(mirror.FatalFaults);
        Assert.Equal((va + (ulong)t.PageSize, FaultAccess.Write, Errno.EPERM), (f.Address, f.Access, f.Error));
        Assert.Equal(data[..t.WordsPerPage], t.CpuRead(va, t.WordsPerPage));
        Assert.Equal([5, 6, 7], t.CpuRead(va + (ulong)t.PageSize, 3));
        var read = new int[t.WordsPerPage];
        Assert.Equal(Errno.Ok, mirror.Read(va + (ulong)t.PageSize, read));
        Assert.Equal([5, 6, 7], read[..3]);
    }

    /// <summary>
    /// A device write over a 4 MiB read-only VMA (1,048,576 stores, every page fatal) between two
    /// writable pages: the first fatal fault marks the whole read-only range, so the items still
    /// waiting on it cancel on the next launch instead of one batch of faults per replay (about 256
    /// launches, which stalled into -EBUSY); the run returns -EPERM naming every page, and the
    /// writable pages hold their stores.
    /// </summary>
    [Fact]
    public void A_write_over_a_4_MiB_read_only_range_is_EPERM_in_a_few_launches_with_every_other_item_completed()
    {
        const int readOnly = 1024;
        using var t = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 64L << 20);
        var va = t.Map(readOnly + 2);
        var locked = va + (ulong)t.PageSize;
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(locked, readOnly * (ulong)t.PageSize, Prot.Read));
        var mirror = t.Mirror(va, readOnly + 2, options: new MirrorOptions { DevicePages = 64, ChunkPages = 16, ReplayStallTimeout = TimeSpan.FromMilliseconds(200) });
        var data = Enumerable.Range(1, (readOnly + 2) * t.WordsPerPage).ToArray();

        var err = mirror.Write(va, data);
        Assert.True(Errno.EPERM == err, $"{mirror.LastError} launches={mirror.Counters.Launches} fatal={mirror.FatalFaults.Count} cancelled={mirror.Counters.CancelledItems} first={mirror.FatalFaults.FirstOrDefault()}");
        Assert.InRange(mirror.Counters.Launches, 2, 4);
        Assert.Equal(Enumerable.Range(1, readOnly).Select(p => va + ((ulong)p * (ulong)t.PageSize)), mirror.FatalFaults.Select(f => f.Address).Order());
        Assert.All(mirror.FatalFaults, f => Assert.Equal((FaultAccess.Write, Errno.EPERM), (f.Access, f.Error)));
        Assert.Equal(readOnly * t.WordsPerPage, mirror.Counters.CancelledItems);
        Assert.Equal(data[..t.WordsPerPage], t.CpuRead(va, t.WordsPerPage));
        Assert.Equal(data[^t.WordsPerPage..], t.CpuRead(va + ((readOnly + 1) * (ulong)t.PageSize), t.WordsPerPage));
        Assert.All(t.CpuRead(locked, readOnly * t.WordsPerPage), v => Assert.Equal(0, v));
    }

    /// <summary>
    /// A run whose launches only cancel is making progress: every page forbidden, in one-page ranges
    /// that alternate a hole and a read-only VMA, one add per page, and a fault buffer of 4 records,
    /// so each of about a thousand launches cancels four more items and applies nothing. It ends with
    /// the first fatal fault's error, each page named with its own range's error, not with -EBUSY
    /// once a 50 ms stall window passed with no operation applied.
    /// </summary>
    [Fact]
    public void A_run_that_only_cancels_is_making_progress_and_each_range_keeps_its_own_error()
    {
        const int pages = 4096;
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(pages);
        for (var p = 0; p < pages; p++)
        {
            var at = va + ((ulong)p * (ulong)t.PageSize);
            Assert.Equal(Errno.Ok, p % 2 == 0 ? t.Mm.Munmap(at, (ulong)t.PageSize) : t.Mm.Mprotect(at, (ulong)t.PageSize, Prot.Read));
        }

        var mirror = t.Mirror(va, pages, options: new MirrorOptions { DevicePages = 64, ChunkPages = 16, FaultBufferCapacity = 4, ReplayStallTimeout = TimeSpan.FromMilliseconds(50) });
        var work = DeviceWork.Adds(items: pages, opsPerItem: 1, firstWord: 0, span: pages * t.WordsPerPage, stride: t.WordsPerPage);
        var err = mirror.Run(work);
        Assert.True(err is Errno.EFAULT or Errno.EPERM, $"{err}: {mirror.LastError}");
        Assert.Equal(pages, mirror.FatalFaults.Count);
        Assert.All(mirror.FatalFaults, f => Assert.Equal(PageIndex(t, va, f.Address) % 2 == 0 ? Errno.EFAULT : Errno.EPERM, f.Error));
        Assert.Equal(pages, mirror.Counters.CancelledItems);
        Assert.True(mirror.Counters.Launches > pages / 8, $"{mirror.Counters.Launches} launches: the fault buffer should have held 4 faults a launch");
    }

    private static long PageIndex(DriverFixture t, ulong va, ulong address) => (long)((address - va) / (ulong)t.PageSize);

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
