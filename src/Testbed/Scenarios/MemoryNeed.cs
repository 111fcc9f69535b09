namespace Testbed.Scenarios;

/// <summary>
/// What a run takes from the machine at its peak: <see cref="Fixed"/> for the runtime, the JIT and the
/// accelerator, plus <see cref="BytesPerPage"/> for each of its <see cref="Pages"/> — the system frame,
/// the device frames, the driver's tables and the scenario's own record of what each page must hold.
/// The per-page costs are peak resident sizes measured on the scenarios at 16384 and 65536 pages
/// (docs/cli.md, "Limits"), rounded up by about a quarter; the CLI refuses a run whose need exceeds
/// the memory available before it starts (<see cref="SystemMemory.Problem"/>).
/// </summary>
/// <param name="Pages">The pages the run maps at once (for oversubscription, its largest working set).</param>
/// <param name="BytesPerPage">What each costs.</param>
public readonly record struct MemoryNeed(long Pages, long BytesPerPage)
{
    /// <summary>The runtime, the JIT, ILGPU's context and the scenario's fixed structures.</summary>
    public const long Fixed = 256L << 20;

    /// <summary>The whole need, in bytes.</summary>
    public long Bytes => Fixed + (Pages * BytesPerPage);
}
