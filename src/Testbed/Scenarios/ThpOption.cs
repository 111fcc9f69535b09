using Testbed.Driver;

namespace Testbed.Scenarios;

/// <summary>
/// <c>--thp on|off</c>, taken by pingpong, oversubscription and stress:
/// with <c>on</c> the mapping is 2 MiB-aligned and <c>MADV_HUGEPAGE</c>, so it faults in as
/// transparent huge pages, and the mirror uses 2 MiB device folios (<see cref="MirrorOptions.Thp"/>):
/// a page moves with its whole 2 MiB block, as one folio. A list (<c>off,on</c>) runs each as its
/// own variant, named with <c>thp=on</c>/<c>thp=off</c>.
/// </summary>
public static class ThpOption
{
    /// <summary>The option, default <c>off</c>.</summary>
    public static ScenarioOption Option { get; } = ScenarioOption.OneOf("thp", "transparent huge pages and 2 MiB device folios (on), or 4 KiB pages only (off); a list runs each", "off", "on") with { Default = "off" };

    /// <summary>The values asked for, in order: true for <c>on</c>.</summary>
    public static bool[] Values(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return [.. ScenarioOption.Split(context.Option(Option)).Select(v => v == "on")];
    }

    /// <summary>The option's value for <paramref name="on"/>, as run names and settings show it.</summary>
    public static string Value(bool on) => on ? "on" : "off";

    /// <summary>Whether any run of <paramref name="settings"/> has THP on (for sizing memory before the run).</summary>
    public static bool AnyOn(ScenarioSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return ScenarioOption.Split(settings.Options.GetValueOrDefault(Option.Name, Option.Default)).Contains("on");
    }

    /// <summary><paramref name="pages"/> rounded up to whole 2 MiB blocks (512 pages), the unit a THP and a device folio cover.</summary>
    public static int Blocks(int pages) => (pages + MirrorDevice.RangeBlockPages - 1) / MirrorDevice.RangeBlockPages * MirrorDevice.RangeBlockPages;
}
