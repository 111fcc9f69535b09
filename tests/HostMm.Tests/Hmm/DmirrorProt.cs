namespace Testbed.HostMm.Tests.Hmm;

/// <summary>The <c>HMM_DMIRROR_PROT_*</c> values a snapshot reports per page (lib/test_hmm_uapi.h).</summary>
[Flags]
public enum DmirrorProt : byte
{
    /// <summary>Not mapped for the device.</summary>
    None = 0,

    /// <summary>The CPU cannot mirror the address (no VMA or no read permission).</summary>
    Error = 0xFF,

    /// <summary>Readable.</summary>
    Read = 0x01,

    /// <summary>Writable.</summary>
    Write = 0x02,

    /// <summary>Mapped by the CPU with a PMD entry (a THP).</summary>
    Pmd = 0x04,

    /// <summary>The shared zero page.</summary>
    Zero = 0x10,

    /// <summary>Device-private memory of this device.</summary>
    DevPrivateLocal = 0x20,

    /// <summary>Device-private memory of another device.</summary>
    DevPrivateRemote = 0x30,
}
