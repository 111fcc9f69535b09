namespace Testbed.HostMm.Migrate;

/// <summary>What one step of <see cref="CompactionAdversary"/> did to a page.</summary>
public enum CompactionResult
{
    /// <summary>Not a mapped anonymous system folio, or already being freed: left alone.</summary>
    Skipped,

    /// <summary>Someone else held the folio lock (the trylock failed).</summary>
    Busy,

    /// <summary>Locked and moved to a new frame.</summary>
    Moved,

    /// <summary>Locked, but it stayed: still mapped or referenced by someone else.</summary>
    Stayed,
}
