namespace Testbed.HostMm.Diagnostics;

/// <summary>What <see cref="MmCounters"/> counts (invalidations are counted per <c>MmuNotifierEvent</c> apart).</summary>
public enum MmEvent
{
    /// <summary>A write fault on an empty PTE allocated and mapped a zeroed anonymous page (<c>do_anonymous_page</c>).</summary>
    FaultAnonymous,

    /// <summary>A read fault on an empty private PTE mapped the shared zero page.</summary>
    FaultZeroPage,

    /// <summary>A write fault copied a shared or zero page (<c>wp_page_copy</c>).</summary>
    FaultCowCopy,

    /// <summary>A write fault made a page writable in place, the page being exclusively ours or shared memory (<c>wp_page_reuse</c>).</summary>
    FaultWpReuse,

    /// <summary>A fault mapped a page of a shared anonymous (shmem) object.</summary>
    FaultShared,

    /// <summary>A fault found the PTE already satisfying the access (a concurrent fault won).</summary>
    FaultSpurious,

    /// <summary>An access with no VMA or against the VMA's protection (SIGSEGV, -EFAULT).</summary>
    FaultSegv,

    /// <summary>A fault that could not allocate a page (VM_FAULT_OOM, -ENOMEM).</summary>
    FaultOom,

    /// <summary>A CPU fault on a device-private entry called the driver's <c>migrate_to_ram</c> (<c>DoSwapPage</c>).</summary>
    FaultDevicePrivate,

    /// <summary>A CPU fault found the device-private page locked and waited for the unlock without a reference (<see cref="Mm.SwapFaultLocking.Locked"/>).</summary>
    FaultDevicePrivateBusy,

    /// <summary>A CPU fault found a migration entry and waited for the migration to finish.</summary>
    FaultMigrationWait,

    /// <summary>Pages moved from system RAM to device memory.</summary>
    MigratedToDevice,

    /// <summary>Pages moved from device memory to system RAM.</summary>
    MigratedToRam,

    /// <summary>Pages a migration gave up on because its folio was locked at collect (trylock failure).</summary>
    MigrateFailLocked,

    /// <summary>Pages a migration gave up on because of references beyond its own and the mappings (<c>migrate_vma_check_page</c>, <c>folio_migrate_mapping</c>).</summary>
    MigrateFailRefs,

    /// <summary>Pages a migration gave up on because they are DMA-pinned.</summary>
    MigrateFailPinned,

    /// <summary><c>MakeDeviceExclusive</c> installed a device-exclusive entry.</summary>
    ExclusiveGranted,

    /// <summary><c>MakeDeviceExclusive</c> returned -EBUSY (<see cref="Exclusive.ExclusiveLocking.TryLock"/> found the folio locked, or fork could not restore an entry).</summary>
    ExclusiveBusy,

    /// <summary>A CPU fault restored a device-exclusive entry to a present PTE.</summary>
    ExclusiveRevoked,

    /// <summary>TLB flushes (<c>flush_tlb_range</c>) issued.</summary>
    TlbFlush,

    /// <summary>
    /// TLB flushes that had CPU contexts to shoot down, and sent them the IPI (the process-wide
    /// barrier; <c>nr_tlb_remote_flush</c>). A flush of an address space no context runs in sends none.
    /// </summary>
    TlbRemoteFlush,

    /// <summary>CPU contexts a flush had to wait for because they were inside an access with a stale TLB.</summary>
    TlbFlushWait,

    /// <summary>A write fault mapped a zeroed 2 MiB transparent huge page with one PMD entry (<c>thp_fault_alloc</c>).</summary>
    ThpFaultAlloc,

    /// <summary>A fault that could have mapped a THP found no free 2 MiB block and mapped a 4 KiB page (<c>thp_fault_fallback</c>).</summary>
    ThpFaultFallback,

    /// <summary>A huge PMD entry was split into 512 PTEs (<c>thp_split_pmd</c>).</summary>
    ThpSplitPmd,

    /// <summary>A large folio was split into order-0 folios (<c>thp_split_page</c>).</summary>
    ThpSplitPage,

    /// <summary>A large folio that lost part of its mappings was queued for a deferred split (<c>thp_deferred_split_page</c>).</summary>
    ThpDeferredSplitPage,

    /// <summary>A split of a large folio gave up: it was locked or had references beyond its mappings (<c>thp_split_page_failed</c>).</summary>
    ThpSplitPageFailed,

    /// <summary>A THP migrated whole to or from device memory (<c>thp_migration_success</c>).</summary>
    ThpMigrationSuccess,

    /// <summary>A THP selected for migration was split because no 2 MiB destination was given (<c>thp_migration_split</c>).</summary>
    ThpMigrationSplit,
}
