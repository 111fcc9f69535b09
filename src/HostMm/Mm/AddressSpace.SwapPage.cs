using Testbed.HostMm.Locking;
using Testbed.HostMm.Diagnostics;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>do_swap_page()</c> for a device-private entry (mm/memory.c): the CPU touched a page that
    /// lives in device memory, so its driver's <c>migrate_to_ram</c> brings it back. Under
    /// <see cref="SwapFaultLocking.Locked"/> the page is trylocked under the PTL before a reference is
    /// taken, and unlocked before that reference is put; a fault that finds it locked drops the PTL,
    /// waits for the unlock without holding a reference, and retries. Under
    /// <see cref="SwapFaultLocking.Legacy"/> every fault takes a reference and calls
    /// <c>migrate_to_ram</c> with the page unlocked, so concurrent faults make each other's
    /// migrations fail with extra references (seed 001). Caller holds the mmap lock for read.
    /// </summary>
    /// <remarks>A device-private PMD (<paramref name="idx"/> is <see cref="PteTable.PmdSlot"/>) is served the same way: the fault page is the device THP, which the driver brings back whole or split (<c>do_huge_pmd_device_private()</c>).</remarks>
    /// <returns>Whatever <c>migrate_to_ram</c> returns; the access is retried after <see cref="Errno.Ok"/>.</returns>
    private Errno DoSwapPage(Vma vma, PteTable table, int idx, ulong va, Pte orig, FaultFlags flags)
    {
        var folio = Memory.PfnToFolio(orig.Pfn);
        var locked = Kernel.SwapFaultLocking == SwapFaultLocking.Locked;
        table.Ptl.Acquire();
        if (table.GetEntry(idx) != orig)
        {
            table.Ptl.Release();
            Kernel.Counters.Count(MmEvent.FaultSpurious);
            return Errno.Ok;
        }

        if (locked && !folio.TryLockOrFallBack())
        {
            table.Ptl.Release();
            Kernel.Counters.Count(MmEvent.FaultDevicePrivateBusy);
            folio.WaitUnlocked();
            return Errno.Ok;
        }

        folio.Get();
        table.Ptl.Release();
        Kernel.Counters.Count(MmEvent.FaultDevicePrivate);
        Kernel.Sync.Preempt(PreemptionPoint.SwapPageReferenced);
        var err = folio.Pgmap!.Ops.MigrateToRam(new VmFault(this, vma, va, folio, flags));
        if (locked)
        {
            folio.Unlock();
        }

        Kernel.Sync.Preempt(PreemptionPoint.SwapPageBeforePut);
        folio.Put();
        return err;
    }
}
