namespace Testbed.HostMm.Diagnostics;

/// <summary>Where <see cref="FaultInjection"/> can make the model or a driver fail on purpose.</summary>
public enum FaultPoint
{
    /// <summary>
    /// <c>folio_trylock()</c> at the sites that have a fallback: migration's collect and
    /// <c>MigrateDevicePfnLock</c> (the page is skipped), <c>DoSwapPage</c>'s locked mode (the fault
    /// waits and retries), <c>MakeDeviceExclusive</c>'s trylock mode and fork's exclusive restore (-EBUSY).
    /// </summary>
    FolioTrylock,

    /// <summary>
    /// -EBUSY from <c>HmmRangeFault</c> and <c>MakeDeviceExclusive</c>, as when the notifier sequence
    /// moved: the caller retries. <c>HmmRangeFault</c> reaches it before each walk and, after a walk
    /// that succeeded, once for each page of the range, as an invalidation can come at any point, so
    /// a walk over more pages is interrupted more often.
    /// </summary>
    Busy,

    /// <summary>A driver's device-frame allocation (the migration destination): the page stays where it is.</summary>
    DeviceAlloc,

    /// <summary>A driver's copy to or from device memory: the destination is freed and the page stays where it is.</summary>
    DeviceCopy,

    /// <summary>The 2 MiB allocation of a THP fault: the fault falls back to a 4 KiB page (<c>thp_fault_fallback</c>).</summary>
    ThpAlloc,
}
