namespace Testbed.HostMm;

/// <summary>How to build a <see cref="HostKernel"/>.</summary>
public sealed record HostKernelOptions
{
    /// <summary>System RAM in bytes (default 64 MiB).</summary>
    public long MemoryBytes { get; init; } = 64L << 20;

    /// <summary>Page size, a power of two from 4 KiB (the default) to 64 KiB.</summary>
    public int PageSize { get; init; } = 4096;

    /// <summary>How <c>DoSwapPage</c> locks the device-private page (default: the fixed kernel's <see cref="Mm.SwapFaultLocking.Locked"/>).</summary>
    public Mm.SwapFaultLocking SwapFaultLocking { get; init; } = Mm.SwapFaultLocking.Locked;

    /// <summary>How <c>MakeDeviceExclusive</c> locks the folio (default: the fixed kernel's <see cref="Exclusive.ExclusiveLocking.LockKillable"/>).</summary>
    public Exclusive.ExclusiveLocking ExclusiveLocking { get; init; } = Exclusive.ExclusiveLocking.LockKillable;

    /// <summary>Where anonymous faults may map transparent huge pages (default <see cref="Mm.TransparentHugepage.Madvise"/>).</summary>
    public Mm.TransparentHugepage TransparentHugepage { get; init; } = Mm.TransparentHugepage.Madvise;

    /// <summary>Whether the lock validator checks lock order. On in tests and debug runs, off in benchmarks.</summary>
    public bool ValidateLocks { get; init; } = true;
}
