namespace Testbed.HostMm.Notifiers;

/// <summary>
/// Why a range is being invalidated (<c>enum mmu_notifier_event</c>, include/linux/mmu_notifier.h).
/// Drivers use it to decide what to do, and HMM drivers use <see cref="Migrate"/> and
/// <see cref="Exclusive"/> together with the owner to skip invalidations they caused themselves.
/// </summary>
public enum MmuNotifierEvent
{
    /// <summary>The range is unmapped (munmap, mremap, MAP_FIXED over it, exit).</summary>
    Unmap,

    /// <summary>PTEs are cleared but the VMA stays (madvise(DONTNEED), COW break, reclaim, exclusive restore).</summary>
    Clear,

    /// <summary>The VMA's protection changes (mprotect).</summary>
    ProtectionVma,

    /// <summary>Single pages are write-protected (fork's copy-on-write setup).</summary>
    ProtectionPage,

    /// <summary>Soft-dirty bits are cleared.</summary>
    SoftDirty,

    /// <summary>The address space is going away (exit_mmap).</summary>
    Release,

    /// <summary>Pages migrate to or from a device (migrate_vma collect); carries the pgmap owner.</summary>
    Migrate,

    /// <summary>A page becomes device-exclusive (make_device_exclusive); carries the owner.</summary>
    Exclusive,
}
