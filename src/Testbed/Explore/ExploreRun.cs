using Testbed.Results;

namespace Testbed.Explore;

/// <summary>
/// One target explored the way <c>testbed explore</c> reports it: the buggy baseline searched once per
/// seed (it holds when every search finds the bug; the first seed's schedule is written to a file), the
/// fixed variant searched over the whole budget (it holds when nothing is found; a finding there is
/// written too), each with schedules per second, schedule points per schedule and, for the baseline,
/// the median schedules until the first finding.
/// </summary>
public static class ExploreRun
{
    /// <summary>Explores <paramref name="target"/> as <paramref name="settings"/> say; <paramref name="status"/> hears progress.</summary>
    public static ScenarioResult Search(ExploreTarget target, ExploreSettings settings, Action<string> status)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(status);
        return new ScenarioResult($"explore {target.Name}", new Dictionary<string, string>
        {
            ["strategy"] = settings.Strategy,
            ["schedules"] = $"{settings.Budget}",
            ["seed"] = $"{settings.Seed}",
            ["livelock_points"] = $"{ExploreScheduler.LivelockPoints}",
        }, [Baseline(target, settings, status), Fixed(target, settings, status)]);
    }

    /// <summary>Replays <paramref name="file"/>: it holds when the same finding comes back.</summary>
    public static ScenarioResult Replay(ScheduleFile file, string path)
    {
        ArgumentNullException.ThrowIfNull(file);
        var outcome = ExploreHost.Run(new ExploreRequest { Target = file.Target, Variant = file.Variant, Strategy = file.Strategy, Seed = file.Seed, Threads = file.Threads, Trace = file.Trace });
        var same = outcome.Finding == file.Finding;
        return new ScenarioResult($"explore {file.Target}", new Dictionary<string, string> { ["replay"] = path }, [new PolicyRun
        {
            Name = file.Variant,
            Policy = file.Strategy,
            Settings = new Dictionary<string, string> { ["seed"] = $"{file.Seed}", ["schedule"] = $"{file.Schedule}" },
            Metrics = new Dictionary<string, Metric> { ["schedule_points"] = new(outcome.Points, "count"), ["seconds"] = new(outcome.Seconds, "s") },
            Invariants =
            [
                Rewritten(outcome),
                new Invariant("reproduced", same, same ? $"the schedule found again: {file.Finding}" : $"recorded: {file.Finding}; replayed: {outcome.Finding ?? "nothing found"}"),
            ],
        }]);
    }

    private static PolicyRun Baseline(ExploreTarget target, ExploreSettings s, Action<string> status)
    {
        var outcomes = new List<(uint Seed, ExploreOutcome Outcome)>();
        for (var i = 0; i < s.Seeds; i++)
        {
            var seed = s.Seed + (uint)i;
            status($"explore {target.Name}: {target.Buggy}, seed {seed} ({i + 1} of {s.Seeds})");
            outcomes.Add((seed, ExploreHost.Run(Request(target, target.Buggy, s, seed))));
        }

        var found = outcomes.Count(o => o.Outcome.Finding is not null);
        var first = outcomes.FirstOrDefault(o => o.Outcome.Finding is not null);
        var toFinding = outcomes.Select(o => (double)(o.Outcome.Finding is null ? s.Budget + 1 : o.Outcome.Schedules)).Order().ToList();
        var secondsToFinding = outcomes.Select(o => o.Outcome.Seconds).Order().ToList();
        var settings = new Dictionary<string, string> { ["variant"] = target.Buggy, ["seeds"] = $"{s.Seed}..{s.Seed + (uint)s.Seeds - 1}" };
        var detail = found == 0
            ? $"nothing found in {s.Budget} schedules with any of {s.Seeds} seeds"
            : $"found with {found} of {s.Seeds} seeds, first with seed {first.Seed} at schedule {first.Outcome.Schedules}: {first.Outcome.Finding}";
        if (first.Outcome is { Finding: not null })
        {
            Record(settings, target, target.Buggy, s, first.Seed, first.Outcome);
        }

        return new PolicyRun
        {
            Name = target.Buggy,
            Policy = s.Strategy,
            Settings = settings,
            Metrics = Numbers(outcomes.Select(o => o.Outcome).ToList(), new()
            {
                ["schedules_to_finding_median"] = new(toFinding[toFinding.Count / 2], "count"),
                ["seconds_to_finding_median"] = new(secondsToFinding[secondsToFinding.Count / 2], "s"),
            }),
            Invariants = [Rewritten(outcomes[0].Outcome), new Invariant("bug_found", found == s.Seeds, detail)],
        };
    }

    private static PolicyRun Fixed(ExploreTarget target, ExploreSettings s, Action<string> status)
    {
        status($"explore {target.Name}: {target.Fixed}, {s.Budget} schedules");
        var outcome = ExploreHost.Run(Request(target, target.Fixed, s, s.Seed));
        var settings = new Dictionary<string, string> { ["variant"] = target.Fixed, ["seeds"] = $"{s.Seed}" };
        if (outcome.Finding is not null)
        {
            Record(settings, target, target.Fixed, s, s.Seed, outcome);
        }

        return new PolicyRun
        {
            Name = target.Fixed,
            Policy = s.Strategy,
            Settings = settings,
            Metrics = Numbers([outcome], []),
            Invariants =
            [
                Rewritten(outcome),
                new Invariant("nothing_found", outcome.Finding is null, outcome.Finding is null
                    ? $"nothing found in {outcome.Schedules} schedules (seed {s.Seed}, {s.Strategy})"
                    : $"found at schedule {outcome.Schedules} (seed {s.Seed}): {outcome.Finding}"),
            ],
        };
    }

    private static ExploreRequest Request(ExploreTarget target, string variant, ExploreSettings s, uint seed) =>
        new() { Target = target.Name, Variant = variant, Strategy = s.Strategy, Schedules = s.Budget, Seed = seed, Threads = s.Threads };

    private static Dictionary<string, Metric> Numbers(IReadOnlyList<ExploreOutcome> outcomes, Dictionary<string, Metric> extra)
    {
        var schedules = outcomes.Sum(o => (long)o.Schedules);
        var metrics = new Dictionary<string, Metric>
        {
            ["schedules"] = new(schedules, "count"),
            ["schedules_per_s"] = new(schedules / Math.Max(1e-9, outcomes.Sum(o => o.Seconds)), "1/s"),
            ["points_per_schedule"] = new((double)outcomes.Sum(o => o.Points) / Math.Max(1, schedules), "count"),
        };
        foreach (var (k, v) in extra)
        {
            metrics[k] = v;
        }

        return metrics;
    }

    private static Invariant Rewritten(ExploreOutcome outcome) =>
        new("rewritten", outcome.Rewritten, outcome.Rewritten ? "ran in the Coyote-rewritten assemblies" : "the assemblies were not rewritten: Coyote controlled nothing, so nothing was explored");

    /// <summary>Writes the finding's schedule file and names the finding, its seed and the replay command in <paramref name="settings"/>.</summary>
    private static void Record(Dictionary<string, string> settings, ExploreTarget target, string variant, ExploreSettings s, uint seed, ExploreOutcome outcome)
    {
        Directory.CreateDirectory(s.ScheduleDir);
        var path = Path.GetFullPath(Path.Combine(s.ScheduleDir, $"{target.Name}-{variant}-{s.Strategy}-seed{seed}.schedule.json"));
        new ScheduleFile
        {
            Target = target.Name,
            Variant = variant,
            Threads = s.Threads,
            Strategy = s.Strategy,
            Seed = seed,
            Schedule = outcome.Schedules,
            Finding = outcome.Finding!,
            Trace = outcome.Trace!,
        }.Write(path);
        settings["finding"] = outcome.Finding!;
        settings["finding_seed"] = $"{seed}";
        settings["replay"] = $"testbed explore --replay {path}";
    }
}
