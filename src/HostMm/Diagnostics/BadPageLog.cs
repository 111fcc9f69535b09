namespace Testbed.HostMm.Diagnostics;

/// <summary>
/// What <c>bad_page()</c> (mm/page_alloc.c) prints when a folio is freed in a state no free folio
/// may be in — still mapped by a PTE (nonzero mapcount). The kernel taints itself and carries on;
/// the model records the first reports and the count, and <see cref="HostKernel.Audit"/> reports
/// them, so a test fails on a PTE left pointing at a freed frame even when no byte was lost yet.
/// </summary>
public sealed class BadPageLog
{
    /// <summary>Reports kept verbatim; later ones are only counted.</summary>
    public const int Kept = 8;

    private readonly List<string> _reports = [];
    private long _count;

    /// <summary>Bad frees seen so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>The first <see cref="Kept"/> reports.</summary>
    public IReadOnlyList<string> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    internal void Report(long pfn, string reason)
    {
        Interlocked.Increment(ref _count);
        lock (_reports)
        {
            if (_reports.Count < Kept)
            {
                _reports.Add($"BUG: Bad page state: pfn {pfn}: {reason}");
            }
        }
    }
}
