namespace Testbed.HostMm.Locking;

/// <summary>The lock classes of the model's own locks, named after their kernel counterparts.</summary>
public static class LockClasses
{
    /// <summary><c>mm-&gt;mmap_lock</c>, the address space's reader/writer semaphore.</summary>
    public static readonly LockClass MmapLock = new("mmap_lock");

    /// <summary>The split page-table lock of one PTE table (<c>pte_lockptr()</c>).</summary>
    public static readonly LockClass PageTableLock = new("ptl");

    /// <summary><c>zone-&gt;lock</c>, guarding the buddy allocator's free lists.</summary>
    public static readonly LockClass ZoneLock = new("zone->lock");

    /// <summary><c>subscriptions-&gt;lock</c> of <c>struct mmu_notifier_subscriptions</c>.</summary>
    public static readonly LockClass NotifierSubscriptions = new("mmu_notifier_subscriptions->lock");

    /// <summary>The lock of the set of CPU contexts running an address space (<c>mm_cpumask</c>).</summary>
    public static readonly LockClass MmCpumask = new("mm_cpumask");

    /// <summary><c>anon_vma-&gt;rwsem</c>, guarding the list of VMAs of a reverse map.</summary>
    public static readonly LockClass AnonVma = new("anon_vma->rwsem");

    /// <summary><c>i_mmap_rwsem</c> of a shmem object, guarding the list of VMAs that map it.</summary>
    public static readonly LockClass ShmemMmap = new("shmem->i_mmap_rwsem");

    /// <summary>The lock of a shared anonymous (shmem) object's page cache (<c>i_pages</c>).</summary>
    public static readonly LockClass ShmemPages = new("shmem->i_pages");

    /// <summary><c>ds_queue-&gt;split_queue_lock</c>, guarding the deferred split queue of partially unmapped THPs (taken under a PTL).</summary>
    public static readonly LockClass DeferredSplitQueue = new("split_queue_lock");
}
