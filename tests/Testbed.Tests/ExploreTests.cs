using System.Text.Json;
using Testbed.Explore;

namespace Testbed.Tests;

/// <summary>
/// <c>testbed explore</c>: Coyote, running the rewritten assemblies the build writes to <c>explore/</c>,
/// finds every seed race in its buggy baseline and nothing in its fixed variant; a schedule it finds is
/// written to a file and replays to the same finding every time, in this process or another.
/// They run alone (<see cref="ExploreCollection"/>): each keeps both cores busy for seconds, and beside
/// them the tests that bound a stall in milliseconds (fatal faults' 200 ms replay window) or need two
/// threads to meet (exclusive-vs-reclaim at 16384 pages) failed in a fresh-clone CI run.
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class ExploreTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("testbed-explore-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static ExploreOutcome Explore(string target, string variant, int schedules, string strategy = "random", uint seed = 1) =>
        ExploreHost.Run(new ExploreRequest { Target = target, Variant = variant, Strategy = strategy, Schedules = schedules, Seed = seed });

    [Theory]
    [InlineData("swap-fault", "legacy", "livelock: 200 schedule points passed and no thread completed an operation", "random")]
    [InlineData("swap-fault", "legacy", "livelock: 200 schedule points passed and no thread completed an operation", "pct")]
    [InlineData("exclusive-vs-reclaim", "trylock", "MakeDeviceExclusive returned EBUSY", "random")]
    [InlineData("owner-filter", "off", "livelock: 200 schedule points passed", "random")]
    [InlineData("eviction", "holding", "lock validator: possible recursive locking: mirror->mutex", "random")]
    [InlineData("exclusivity", "off", "exclusivity: after CPU add", "random")]
    [InlineData("exclusivity", "off", "exclusivity: after CPU add", "pct")]
    public void Buggy_baselines_are_found_by_search(string target, string variant, string finding, string strategy)
    {
        var outcome = Explore(target, variant, 500, strategy);
        Assert.True(outcome.Rewritten, "the explorer ran in plain assemblies");
        Assert.NotNull(outcome.Finding);
        Assert.StartsWith(finding, outcome.Finding);
        Assert.True(outcome.Schedules < 500, $"found only at schedule {outcome.Schedules}");
        Assert.False(string.IsNullOrEmpty(outcome.Trace));
    }

    [Theory]
    [InlineData("swap-fault", "locked", "random")]
    [InlineData("swap-fault", "locked", "pct")]
    [InlineData("exclusive-vs-reclaim", "lock", "random")]
    [InlineData("owner-filter", "on", "random")]
    [InlineData("eviction", "unlocked", "random")]
    [InlineData("exclusivity", "on", "random")]
    [InlineData("exclusivity", "on", "pct")]
    public void Fixed_variants_are_clear(string target, string variant, string strategy)
    {
        var outcome = Explore(target, variant, 150, strategy);
        Assert.True(outcome.Rewritten, "the explorer ran in plain assemblies");
        Assert.Null(outcome.Finding);
        Assert.Equal(150, outcome.Schedules);
        Assert.True(outcome.Points > 150 * 5, $"only {outcome.Points} schedule points in 150 schedules: the model's points did not reach the scheduler");
    }

    [Fact]
    public void A_found_schedule_replays_to_the_same_finding_every_time()
    {
        var (code, output, error) = CliTests.Testbed("explore", "swap-fault", "--schedules", "300", "--seed", "3", "--schedule-dir", _dir.FullName, "--json", Path.Combine(_dir.FullName, "r.json"));
        Assert.True(code == 0, output + error);
        var file = Path.Combine(_dir.FullName, "swap-fault-legacy-random-seed3.schedule.json");
        Assert.Contains("explore swap-fault/legacy: found (seed 3): livelock:", output);
        Assert.Contains($"replay: testbed explore --replay {file}", output);
        var recorded = ScheduleFile.Read(file);
        Assert.StartsWith("livelock:", recorded.Finding);
        for (var i = 0; i < 3; i++)
        {
            var replayed = ExploreHost.Run(new ExploreRequest { Target = recorded.Target, Variant = recorded.Variant, Strategy = recorded.Strategy, Seed = recorded.Seed, Threads = recorded.Threads, Trace = recorded.Trace });
            Assert.Equal(recorded.Finding, replayed.Finding);
        }

        var (replayCode, replayOutput, replayError) = CliTests.Testbed("explore", "--replay", file);
        Assert.True(replayCode == 0, replayOutput + replayError);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.FullName, "r.json")));
        var runs = doc.RootElement.GetProperty("scenarios")[0].GetProperty("runs");
        Assert.InRange(runs[0].GetProperty("metrics").GetProperty("schedules_to_finding_median").GetProperty("value").GetDouble(), 1, 299);
        Assert.True(runs[1].GetProperty("metrics").GetProperty("schedules_per_s").GetProperty("value").GetDouble() > 0);
    }

    [Fact]
    public void A_schedule_that_does_not_come_back_fails_the_replay()
    {
        var (_, output, _) = CliTests.Testbed("explore", "exclusive-vs-reclaim", "--schedules", "200", "--schedule-dir", _dir.FullName);
        var file = Path.Combine(_dir.FullName, "exclusive-vs-reclaim-trylock-random-seed1.schedule.json");
        Assert.True(File.Exists(file), output);
        var doctored = Path.Combine(_dir.FullName, "doctored.schedule.json");
        File.WriteAllText(doctored, File.ReadAllText(file).Replace("\"variant\": \"trylock\"", "\"variant\": \"lock\"", StringComparison.Ordinal));
        var (code, replayOutput, _) = CliTests.Testbed("explore", "--replay", doctored);
        Assert.Equal(1, code);
        Assert.Contains("reproduced: recorded: MakeDeviceExclusive returned EBUSY", replayOutput);
    }

    [Fact]
    public void List_names_every_target_with_its_variants()
    {
        var (code, output, _) = CliTests.Testbed("list");
        Assert.Equal(0, code);
        foreach (var line in new[] { "swap-fault             legacy / locked: seed 001", "exclusive-vs-reclaim   trylock / lock: seed 000", "owner-filter           off / on: seed 002", "eviction               holding / unlocked: seed 004", "exclusivity            off / on: CPU and device atomics" })
        {
            Assert.Contains(line, output);
        }
    }

    [Theory]
    [InlineData("no target", new string[] { "explore" }, "explore: name a target")]
    [InlineData("unknown target", new[] { "explore", "nosuch" }, "nosuch")]
    [InlineData("bad strategy", new[] { "explore", "swap-fault", "--strategy", "dfs" }, "dfs")]
    [InlineData("threads out of range", new[] { "explore", "swap-fault", "--threads", "5" }, "--threads")]
    [InlineData("missing schedule file", new[] { "explore", "--replay", "/nonexistent/x.json" }, "no such file")]
    [InlineData("target with replay", new[] { "explore", "swap-fault", "--replay", "/nonexistent/x.json" }, "drop the target")]
    [InlineData("option with replay", new[] { "explore", "--replay", "/nonexistent/x.json", "--seed", "2" }, "drop --seed")]
    public void Bad_input_is_one_line_and_exit_2(string what, string[] args, string message)
    {
        var (code, _, error) = CliTests.Testbed(args);
        Assert.True(code == 2, what);
        Assert.Contains(message, error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void A_file_that_is_not_a_schedule_is_refused_naming_it()
    {
        var path = Path.Combine(_dir.FullName, "bad.json");
        foreach (var content in new[] { "{", "{\"schema\":\"other/1\"}", "{\"schema\":\"testbed.schedule/1\",\"target\":\"nosuch\",\"variant\":\"x\",\"threads\":3,\"strategy\":\"random\",\"seed\":1,\"schedule\":1,\"finding\":\"f\",\"trace\":\"t\"}" })
        {
            File.WriteAllText(path, content);
            var (code, _, error) = CliTests.Testbed("explore", "--replay", path);
            Assert.Equal(2, code);
            Assert.Contains($"explore --replay: {path}:", error);
        }
    }
}
