using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>HmmRangeFault's rules called directly: request flags, -EBUSY, error cases, output encoding.</summary>
public sealed class HmmRangeFaultTests : IDisposable
{
    private readonly MmFixture _t = new();
    private readonly MmuIntervalNotifier _sub;

    public HmmRangeFaultTests()
    {
        Assert.Equal(Errno.Ok, _t.Mm.Notifiers.Insert(0, AddressSpace.TaskSize, new NullOps(), out var sub));
        _sub = sub!;
    }

    private ulong Page => _t.PageSize;

    public void Dispose()
    {
        _sub.Remove();
        _t.Dispose();
    }

    private Errno Fault(HmmRange range)
    {
        _t.Mm.MmapLock.DownRead();
        try
        {
            return HmmMirror.HmmRangeFault(range);
        }
        finally
        {
            _t.Mm.MmapLock.UpRead();
        }
    }

    private HmmRange Range(ulong start, int pages, ulong defaults = 0, ulong mask = 0) => new()
    {
        Notifier = _sub,
        NotifierSeq = _sub.ReadBegin(),
        Start = start,
        End = start + ((ulong)pages * Page),
        HmmPfns = new ulong[pages],
        DefaultFlags = defaults,
        PfnFlagsMask = mask,
    };

    /// <summary>
    /// Per-entry requests (masked by PfnFlagsMask): the first entry that needs a fault has the rest of
    /// its PTE table faulted with its flags, as hmm_vma_fault does, so entry 1 comes back valid too.
    /// Entry 2's write then breaks the zero page's COW, whose Clear invalidation moves the sequence:
    /// -EBUSY, and the driver's retry with a fresh sequence succeeds.
    /// </summary>
    [Fact]
    public void Per_entry_requests_are_satisfied_and_a_fault_covers_the_rest_of_the_table()
    {
        var a = _t.Map(3);
        var range = Range(a, 3, mask: HmmPfn.ReqFault | HmmPfn.ReqWrite);
        range.HmmPfns[0] = HmmPfn.ReqFault;
        range.HmmPfns[2] = HmmPfn.ReqFault | HmmPfn.ReqWrite;
        Assert.Equal(Errno.EBUSY, Fault(range));
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.FaultCowCopy]);
        range.NotifierSeq = _sub.ReadBegin();
        range.HmmPfns[0] = HmmPfn.ReqFault;
        range.HmmPfns[1] = 0;
        range.HmmPfns[2] = HmmPfn.ReqFault | HmmPfn.ReqWrite;
        Assert.Equal(Errno.Ok, Fault(range));
        Assert.Equal((_t.Kernel.ZeroPage.Pfn, HmmPfn.Valid), (HmmPfn.ToPfn(range.HmmPfns[0]), range.HmmPfns[0] & HmmPfn.Flags));
        Assert.Equal((_t.Kernel.ZeroPage.Pfn, HmmPfn.Valid), (HmmPfn.ToPfn(range.HmmPfns[1]), range.HmmPfns[1] & HmmPfn.Flags));
        Assert.Equal(HmmPfn.Valid | HmmPfn.Write, range.HmmPfns[2] & HmmPfn.Flags);
        Assert.Equal(_t.Mm.GetPte(a + (2 * Page)).Pfn, HmmPfn.ToPfn(range.HmmPfns[2]));
        Assert.All(range.HmmPfns, e => Assert.Equal(0, HmmPfn.Order(e)));
    }

    [Fact]
    public void Default_flags_apply_to_every_entry_and_a_zero_mask_ignores_per_entry_requests()
    {
        var a = _t.Map(2);
        var range = Range(a, 2, defaults: HmmPfn.ReqFault);
        range.HmmPfns[1] = HmmPfn.ReqWrite;
        Assert.Equal(Errno.Ok, Fault(range));
        Assert.All(range.HmmPfns, e => Assert.Equal(HmmPfn.Valid, e & HmmPfn.Flags));
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.FaultZeroPage]);
    }

    [Fact]
    public void A_snapshot_faults_nothing()
    {
        var a = _t.Map(2);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a, 1));
        var range = Range(a, 2);
        Assert.Equal(Errno.Ok, Fault(range));
        Assert.Equal(HmmPfn.Valid | HmmPfn.Write, range.HmmPfns[0] & HmmPfn.Flags);
        Assert.Equal(0UL, range.HmmPfns[1]);
        Assert.Equal(PteKind.None, _t.Mm.GetPte(a + Page).Kind);
    }

    [Fact]
    public void EBUSY_only_when_the_sequence_moved()
    {
        var a = _t.Map(1);
        var range = Range(a, 1, defaults: HmmPfn.ReqFault | HmmPfn.ReqWrite);

        // Faulting a fresh anonymous page fires no invalidation: no -EBUSY although the walk restarted.
        Assert.Equal(Errno.Ok, Fault(range));
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.FaultAnonymous]);

        var stale = Range(a, 1);
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(a, Page, Prot.Read));
        Assert.Equal(Errno.EBUSY, Fault(stale));
        stale.NotifierSeq = _sub.ReadBegin();
        Assert.Equal(Errno.Ok, Fault(stale));
        Assert.Equal(HmmPfn.Valid, stale.HmmPfns[0] & HmmPfn.Flags);
    }

    [Fact]
    public void Errors_are_EFAULT_EPERM_and_EINVAL_as_the_kernel_returns_them()
    {
        var a = _t.Map(1, Prot.Read);
        var none = _t.Map(1, Prot.None);
        Assert.Equal(Errno.EPERM, Fault(Range(a, 1, defaults: HmmPfn.ReqFault | HmmPfn.ReqWrite)));
        Assert.Equal(Errno.EFAULT, Fault(Range(none, 1, defaults: HmmPfn.ReqFault)));
        Assert.Equal(Errno.EFAULT, Fault(Range(0x4000_0000, 1, defaults: HmmPfn.ReqFault)));
        var hole = Range(0x4000_0000, 1);
        Assert.Equal(Errno.Ok, Fault(hole));
        Assert.Equal(HmmPfn.Error, hole.HmmPfns[0]);
        var unaligned = Range(a, 1);
        unaligned.Start = a + 1;
        Assert.Equal(Errno.EINVAL, Fault(unaligned));
        var shortArray = Range(a, 1);
        shortArray.End = a + (2 * Page);
        Assert.Equal(Errno.EINVAL, Fault(shortArray));
    }

    private sealed class NullOps : IMmuIntervalNotifierOps
    {
        public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
        {
            subscription.SetSeq(curSeq);
            return true;
        }
    }
}
