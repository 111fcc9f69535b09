using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Diagnostics;

/// <summary>
/// What <see cref="HostKernel.Audit"/> found once a test or a run tore its address spaces down: the
/// checks a kernel developer leans on after a test (<c>CONFIG_DEBUG_VM</c>'s bad-page checks, a
/// leaked-page count, <c>mmu_notifier</c> warnings on exit, lockdep), as numbers and as one line
/// per problem.
/// </summary>
public sealed class TeardownAudit
{
    /// <summary>Address spaces created and not disposed.</summary>
    public required int LiveAddressSpaces { get; init; }

    /// <summary>System frames still allocated, the zero page not counted.</summary>
    public required long LeakedFrames { get; init; }

    /// <summary>Device frames still in use in pagemaps that are still registered.</summary>
    public required long LeakedDeviceFrames { get; init; }

    /// <summary>Device pagemaps a driver registered and never unregistered.</summary>
    public required int RegisteredPagemaps { get; init; }

    /// <summary>Interval notifiers inserted and never removed.</summary>
    public required int LiveNotifiers { get; init; }

    /// <summary>The zero page's refcount when it is not the one reference it was born with (0 when it is).</summary>
    public required int ZeroPageRefCountDrift { get; init; }

    /// <summary>Folios freed while still mapped (see <see cref="BadPageLog"/>).</summary>
    public required long BadPages { get; init; }

    /// <summary>Frames whose compound head is free or does not cover them (a large folio freed or split without its tails; see <see cref="Memory.PhysicalMemory.CompoundErrors"/>).</summary>
    public required long CompoundErrors { get; init; }

    /// <summary>The first bad-page reports.</summary>
    public required IReadOnlyList<string> BadPageReports { get; init; }

    /// <summary>The lock validator's report, if it made one.</summary>
    public required LockdepReport? Lockdep { get; init; }

    /// <summary>One line per problem other than a lockdep report.</summary>
    public IReadOnlyList<string> Leaks
    {
        get
        {
            var lines = new List<string>();
            Add(lines, LiveAddressSpaces, "address space(s) never disposed");
            Add(lines, LeakedFrames, "system frame(s) still in use");
            Add(lines, RegisteredPagemaps, $"device pagemap(s) still registered ({LeakedDeviceFrames} device frame(s) in use)");
            Add(lines, LiveNotifiers, "interval notifier(s) never removed");
            Add(lines, ZeroPageRefCountDrift, "unbalanced reference(s) on the zero page");
            Add(lines, BadPages, "folio(s) freed while still mapped");
            Add(lines, CompoundErrors, "frame(s) left pointing at a freed or split large folio");
            lines.AddRange(BadPageReports);
            return lines;
        }
    }

    /// <summary>Every frame free, every pagemap unregistered, no bad free, the zero page balanced.</summary>
    public bool FramesBalanced => LeakedFrames == 0 && RegisteredPagemaps == 0 && BadPages == 0 && ZeroPageRefCountDrift == 0 && CompoundErrors == 0;

    /// <summary>Nothing leaked and the validator is silent.</summary>
    public bool Clean => Lockdep is null && Leaks.Count == 0;

    /// <summary>Every problem on its own line, or "clean".</summary>
    public override string ToString()
    {
        var lines = new List<string>(Leaks);
        if (Lockdep is not null)
        {
            lines.Add(Lockdep.ToString());
        }

        return lines.Count == 0 ? "clean" : string.Join(Environment.NewLine, lines);
    }

    private static void Add(List<string> lines, long n, string what)
    {
        if (n != 0)
        {
            lines.Add($"{n} {what}");
        }
    }
}
