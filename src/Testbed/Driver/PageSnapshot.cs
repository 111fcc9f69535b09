namespace Testbed.Driver;

/// <summary>
/// What <see cref="MirrorDevice.Snapshot"/> reports for one page: the CPU page table as the device
/// sees it through <c>HmmRangeFault</c> without faulting anything in, as lib/test_hmm.c's
/// <c>HMM_DMIRROR_SNAPSHOT</c> reports it (<c>dmirror_mkentry</c>). A present page has
/// <see cref="Read"/> or <see cref="Write"/>, plus a location flag when it is not ordinary system
/// memory. Unlike the ioctl's byte, whose location values share bits, each flag here is one bit.
/// </summary>
[Flags]
public enum PageSnapshot : byte
{
    /// <summary>Nothing the device could map without a fault: an empty entry, a swap or migration entry, another device's private page.</summary>
    None = 0,

    /// <summary>Mapped read-only.</summary>
    Read = 0x01,

    /// <summary>Mapped writable.</summary>
    Write = 0x02,

    /// <summary>The shared zero page (always with <see cref="Read"/>).</summary>
    Zero = 0x04,

    /// <summary>In this device's private memory.</summary>
    DevicePrivateLocal = 0x08,

    /// <summary>In this device's coherent memory.</summary>
    DeviceCoherentLocal = 0x10,

    /// <summary>In another device's coherent memory.</summary>
    DeviceCoherentRemote = 0x20,

    /// <summary>Cannot be mirrored: no VMA there, or a VMA without read permission.</summary>
    Error = 0x80,
}
