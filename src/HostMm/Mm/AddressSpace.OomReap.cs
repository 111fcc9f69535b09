using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>__oom_reap_task_mm()</c> (mm/oom_kill.c): the OOM reaper frees a dying process's private
    /// memory without waiting for it to exit. It takes the mmap lock with a trylock and issues
    /// <b>non-blockable</b> <see cref="MmuNotifierEvent.Unmap"/> invalidations — the only caller
    /// of them in the kernel — so a driver whose callback would have to sleep (its lock is taken, a
    /// device job still uses the pages) refuses, and the reaper backs off and tries again later.
    /// Shared VMAs are left to exit, as the kernel leaves them.
    /// </summary>
    /// <returns>
    /// -EAGAIN when the mmap lock was contended or a notifier refused; VMAs reaped before the refusal
    /// stay reaped, as in the kernel. Ok when every private VMA was reaped.
    /// </returns>
    public Errno OomReap()
    {
        if (!MmapLock.TryDownRead())
        {
            return Errno.EAGAIN;
        }

        try
        {
            var tlb = new MmuGather(this);
            foreach (var vma in VmasIn(0, TaskSize))
            {
                if (vma.IsShared)
                {
                    continue;
                }

                if (Notifiers.InvalidateRangeStart(new MmuNotifierRange(this, vma.Start, vma.End, MmuNotifierEvent.Unmap, Blockable: false)) != Errno.Ok)
                {
                    return Errno.EAGAIN;
                }

                ZapPteRange(vma, vma.Start, vma.End, tlb);
                tlb.Finish();
                Notifiers.InvalidateRangeEnd();
            }

            return Errno.Ok;
        }
        finally
        {
            MmapLock.UpRead();
        }
    }
}
