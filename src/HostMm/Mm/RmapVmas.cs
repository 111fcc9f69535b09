using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

/// <summary>
/// The VMAs a reverse-map walk visits: the anon_vma chain of anonymous memory, <c>i_mmap</c> of a
/// shmem object. Walks work on a snapshot of the list, so the callbacks they fire run without this
/// lock; a VMA unmapped meanwhile is harmless because its PTEs no longer map the folio.
/// </summary>
/// <remarks>
/// Writers replace the array under the lock and never change one in place, so a walk reads the
/// current array without taking the lock, as an RCU reader would: the kernel's walks take
/// <c>anon_vma_lock_read</c>/<c>i_mmap_lock_read</c>, but here the lock would guard nothing the
/// read needs, and migration and eviction walk once per page.
/// </remarks>
internal class RmapVmas(SyncDomain sync, LockClass cls)
{
    private readonly MmLock _lock = new(sync, cls);
    private Vma[] _vmas = [];

    public void Link(Vma vma)
    {
        using (_lock.Enter())
        {
            Volatile.Write(ref _vmas, [.. _vmas, vma]);
        }
    }

    /// <summary>Unlinks <paramref name="vma"/>; returns how many remain.</summary>
    public int Unlink(Vma vma)
    {
        using (_lock.Enter())
        {
            Volatile.Write(ref _vmas, [.. _vmas.Where(v => v != vma)]);
            return _vmas.Length;
        }
    }

    /// <summary>The VMAs linked now; the array is never modified.</summary>
    public Vma[] Snapshot() => Volatile.Read(ref _vmas);
}
