namespace Testbed.HostMm.Locking;

/// <summary>
/// Where a lock was taken, from the compiler's caller information: free to record on every
/// acquisition, unlike a stack trace, so a report can name where a held lock was taken.
/// </summary>
public readonly record struct AcquireSite(string Member, string File, int Line)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Member} at {Path.GetFileName(File)}:{Line}";
}
