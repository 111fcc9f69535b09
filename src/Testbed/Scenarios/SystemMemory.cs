using System.Globalization;
using Testbed.HostMm;

namespace Testbed.Scenarios;

/// <summary>
/// The model's system RAM for a run, sized from the pages it maps rather than fixed: HostMm's arena
/// (<see cref="HostKernelOptions.MemoryBytes"/>) holds twice the mapped pages — a page's copy while a
/// fork's child shares it, or while a page is staged between devices — plus
/// <see cref="Headroom"/>, and never less than the 64 MiB a small run has always had. The arena is
/// reserved, not touched, so what a run costs the machine is what it uses: its
/// <see cref="IScenario.Memory"/>, which the CLI checks against <see cref="Available"/> before it
/// starts anything (<see cref="Problem"/>).
/// </summary>
public static class SystemMemory
{
    /// <summary>The smallest arena, what every run had before arenas were sized.</summary>
    public const long Minimum = 64L << 20;

    /// <summary>Room beyond the doubled pages, for the zero page, huge-page alignment and a margin.</summary>
    public const long Headroom = 16L << 20;

    /// <summary><paramref name="options"/> (or the defaults) with an arena for <paramref name="pages"/> mapped pages.</summary>
    public static HostKernelOptions For(long pages, HostKernelOptions? options = null)
    {
        options ??= new HostKernelOptions();
        return options with { MemoryBytes = Math.Max(Minimum, (2 * pages * options.PageSize) + Headroom) };
    }

    /// <summary>
    /// The memory a run may use here: the kernel's <c>MemAvailable</c> (free memory plus what the page
    /// cache would give back), or less where the process's own limit (a container's) is lower.
    /// </summary>
    public static long Available()
    {
        var limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts is ["MemAvailable:", var kib, "kB"] && long.TryParse(kib, CultureInfo.InvariantCulture, out var k))
                {
                    return Math.Min(limit, k * 1024);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return limit;
    }

    /// <summary>
    /// Why <paramref name="scenario"/> cannot run with <paramref name="settings"/> in
    /// <paramref name="available"/> bytes — its need, what is available and the largest
    /// <c>--pages</c> that fits — or null when it fits.
    /// </summary>
    public static string? Problem(IScenario scenario, ScenarioSettings settings, long available)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(settings);
        var need = scenario.Memory(settings);
        if (need.Bytes <= available)
        {
            return null;
        }

        var (low, high) = (0, settings.Pages ?? 1 << 20);
        while (low < high)
        {
            var mid = low + ((high - low + 1) / 2);
            (low, high) = scenario.Memory(settings with { Pages = mid }).Bytes <= available ? (mid, high) : (low, mid - 1);
        }

        var most = low >= 8 ? low / 8 * 8 : low;
        var asked = settings.Pages is { } pages ? $"--pages {pages}" : "its default size";
        var limit = most > 0 ? $"at most --pages {most} here" : "too little even for the smallest run";
        return string.Create(CultureInfo.InvariantCulture, $"{scenario.Name}: {asked} needs about {Gib(need.Bytes)} of memory at its peak ({need.BytesPerPage / 1024} KiB for each of {need.Pages} pages); {Gib(available)} is available: {limit}");
    }

    private static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB");
}
