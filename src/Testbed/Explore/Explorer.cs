using System.Diagnostics;
using System.Reflection;
using Microsoft.Coyote;
using Microsoft.Coyote.Logging;
using Microsoft.Coyote.Rewriting;
using Microsoft.Coyote.SystematicTesting;

namespace Testbed.Explore;

/// <summary>
/// Runs an <see cref="ExploreRequest"/> under Coyote's <see cref="TestingEngine"/>, inside the
/// rewritten assemblies (<see cref="ExploreHost"/> loads them). Each iteration of the engine is one
/// schedule of the target's harness; the engine stops at the first bug: a failed assertion (lost
/// data, the lock validator, the teardown audit, a livelock from <see cref="ExploreScheduler"/>), a
/// deadlock (no controlled thread can run), an unhandled exception, or Coyote's own bound of
/// <see cref="MaxSteps"/> scheduling steps in one schedule (a spin the model's points do not see).
/// </summary>
public static class Explorer
{
    /// <summary>Coyote scheduling steps one schedule may take before it counts as a livelock.</summary>
    public const uint MaxSteps = 20_000;

    /// <summary>
    /// PCT's priority change points per schedule. PCT runs in Coyote's fair mode (priorities for the
    /// first steps, then fair choices): the model's TLB shootdown spins until every other CPU context
    /// has quiesced, as the kernel waits for its IPIs, and strict priorities starve the other context
    /// forever (found: exclusivity/on hit the step bound at schedule 110 of seed 1, one operation
    /// alternating a volatile read and a SpinWait for 20,000 steps).
    /// </summary>
    public const uint PctChangePoints = 10;

    /// <summary>Whether this assembly is the Coyote-rewritten copy.</summary>
    public static bool IsRewritten => typeof(Explorer).Assembly.GetCustomAttribute<RewritingSignatureAttribute>() is not null;

    /// <summary>Runs <paramref name="request"/> in this load context (it must be the rewritten one to explore anything).</summary>
    public static ExploreOutcome Run(ExploreRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = ExploreTargets.Find(request.Target, request.Threads) ?? throw new ArgumentException($"explore: no target '{request.Target}'", nameof(request));

        // One throwaway schedule first: the first schedule in a process also runs type initializers and
        // lazy set-up (ILGPU's context, lock classes), whose interlocked operations are scheduling points
        // that no later schedule has. Without it a schedule found after the first would not replay in a
        // fresh process, and the first would not replay in a warm one.
        Explore(target, request with { Schedules = 1, Trace = null, Seed = 0 }, out _);
        var clock = Stopwatch.StartNew();
        var report = Explore(target, request, out var engine);
        var found = report.NumOfFoundBugs > 0;
        return new ExploreOutcome
        {
            Schedules = Math.Max(1, report.NumOfExploredFairPaths + report.NumOfExploredUnfairPaths),
            Points = engine.Points,
            Seconds = clock.Elapsed.TotalSeconds,
            Finding = found ? report.BugReports.First() : null,
            Trace = found ? engine.Trace : null,
            Rewritten = IsRewritten,
        };
    }

    private static TestReport Explore(ExploreTarget target, ExploreRequest request, out (long Points, string Trace) result)
    {
        var config = Configuration.Create()
            .WithTestingIterations(request.Trace is null ? (uint)request.Schedules : 1)
            .WithRandomGeneratorSeed(request.Seed)
            .WithMaxSchedulingSteps(MaxSteps)
            .WithFailureOnMaxStepsBoundEnabled(true)
            .WithTelemetryEnabled(false)
            .WithVerbosityEnabled(VerbosityLevel.None)
            .WithConsoleLoggingEnabled(false);
        config = request.Strategy == "pct" ? config.WithPrioritizationStrategy(true, PctChangePoints) : config.WithRandomStrategy();
        if (request.Trace is not null)
        {
            config = config.WithReproducibleTrace(request.Trace);
        }

        long points = 0;
        using var engine = TestingEngine.Create(config, () =>
        {
            var scheduler = new ExploreScheduler();
            try
            {
                target.Schedule(request.Variant, scheduler);
            }
            finally
            {
                points += scheduler.Points;
            }
        });
        engine.SetLogger(new TextWriterLogger(TextWriter.Null, VerbosityLevel.None));
        engine.Run();
        result = (points, engine.ReproducibleTrace);
        return engine.TestReport;
    }
}
