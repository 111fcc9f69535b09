using System.CommandLine;
using System.Diagnostics;
using Testbed.Bench;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.Explore;
using ILGPU.Runtime.Cuda;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Compilation;
using Testbed.Kernels.DeviceCode;
using Testbed.Report;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Cli;

/// <summary>
/// The <c>testbed</c> command line (DESIGN §5): <c>list</c>, <c>run</c>, <c>suite</c>, <c>bench</c>,
/// <c>conformance</c>, <c>explore</c>, <c>report</c>, <c>kernels</c>. Exit codes: 0 every invariant held; 1 an
/// invariant failed (named in the output), or the testbed itself failed (one line naming where and the
/// error, never a stack trace); 2 bad input, with one line saying what and why. Response files
/// (<c>@file</c>) are off: nothing needs them, and reading one was a way to crash the parser.
/// </summary>
public static class TestbedCli
{
    /// <summary>Every invariant held.</summary>
    public const int Held = 0;

    /// <summary>An invariant failed.</summary>
    public const int Failed = 1;

    /// <summary>Bad input.</summary>
    public const int BadInput = 2;

    /// <summary>Parses <paramref name="args"/> and runs the command; output and errors go to the writers given.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var parsed = Build(output).Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parsed.Errors.Count > 0)
            {
                var messages = parsed.Errors.Select(e => OneLine(e.Message)).ToList();
                var specific = messages.Where(m => !m.StartsWith("Required command", StringComparison.Ordinal)).ToList();
                error.WriteLine($"testbed: {string.Join("; ", specific.Count > 0 ? specific : messages)} (see 'testbed --help')");
                return BadInput;
            }

            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ScenarioInputException or ResultFormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"testbed: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"testbed: internal error: {e.GetType().Name}: {OneLine(e.Message)} (a bug in the testbed; the command that showed it reproduces it)");
            return Failed;
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static RootCommand Build(TextWriter output)
    {
        var accelerator = new Option<string>("--accelerator") { Description = "where kernels run: cpu (ILGPU kernels called directly), ilgpu-cpu (ILGPU's CPU accelerator), cuda, opencl, or auto (the first available of cuda, opencl, cpu)", DefaultValueFactory = _ => "cpu" };
        accelerator.AcceptOnlyFromAmong([.. AcceleratorKinds.All.Select(k => k.Name()), "auto"]);
        var ilgpuCpu = new Option<string?>("--ilgpu-cpu") { Description = $"the shape of ilgpu-cpu: threads per warp x warps per multiprocessor x multiprocessors, optionally :auto, :sequential or :parallel (default {IlgpuCpuSettings.Default})" };
        ilgpuCpu.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } v && IlgpuCpuSettings.Parse(v, out var problem) is null)
            {
                r.AddError($"--ilgpu-cpu: {problem}");
            }
        });
        var size = new Option<string>("--size") { Description = "ci (small, fast) or full", DefaultValueFactory = _ => "ci" };
        size.AcceptOnlyFromAmong("ci", "full");
        var json = CliOptions.OutputFile("--json", "write the result as JSON (schema testbed.result/1)");
        var html = CliOptions.OutputFile("--html", "write a self-contained HTML report");
        var seed = CliOptions.Integer("--seed", "seed of every random choice", 1);
        var stall = CliOptions.Number("--stall-timeout", "seconds without progress before the watchdog stops a run", 0.1, 600, 5);

        var list = new Command("list", "scenarios, their options, policies, and accelerators with their availability");
        list.SetAction(_ => List(output));

        var scenario = new Argument<string>("scenario") { Description = "what to run (see 'testbed list')" };
        scenario.AcceptOnlyFromAmong([.. ScenarioCatalog.All.Select(s => s.Name)]);
        var policy = new Option<string?>("--policy") { Description = $"policies to compare, comma-separated: {string.Join(", ", ResidencyPolicies.Names)}" };
        policy.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } v && ScenarioOption.Split(v).FirstOrDefault(p => !ResidencyPolicies.Names.Contains(p)) is { } bad)
            {
                r.AddError($"--policy: '{bad}' is not a policy ({string.Join(", ", ResidencyPolicies.Names)})");
            }
        });
        var pages = CliOptions.Count("--pages", "pages in the working set (device pages for oversubscription)", 1, 1 << 20);
        var threads = CliOptions.Count("--threads", "CPU threads", 1, 64);
        var rounds = CliOptions.Count("--rounds", "rounds of device work", 1, 100_000);
        var coherence = new Option<string?>("--coherence") { Description = "the link: coherent, or noncoherent (emulated in kernel code where the hardware's link is coherent)" };
        coherence.AcceptOnlyFromAmong("coherent", "noncoherent");
        // An option several scenarios take (--thp) is one CLI option, owned by all of them.
        var scenarioOptions = ScenarioCatalog.All.SelectMany(s => s.Options.Select(o => (Scenario: s, Option: o)))
            .GroupBy(x => x.Option)
            .Select(g => (Owners: g.Select(x => x.Scenario).ToArray(), Option: g.Key, Cli: new Option<string?>($"--{g.Key.Name}") { Description = $"{string.Join(", ", g.Select(x => x.Scenario.Name))}: {g.Key.Description} (default {g.Key.Default})" }))
            .ToList();
        var run = new Command("run", "run one scenario") { scenario, accelerator, ilgpuCpu, policy, pages, threads, rounds, seed, size, coherence, json, html, stall };
        foreach (var (_, option, cli) in scenarioOptions)
        {
            cli.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<string?>() is { } v && option.Check(v) is { } problem)
                {
                    r.AddError($"--{option.Name}: {problem}");
                }
            });
            run.Add(cli);
        }

        run.SetAction(r =>
        {
            var chosen = ScenarioCatalog.Find(r.GetValue(scenario)!)!;
            foreach (var (flag, option) in new (SharedOptions, Option)[] { (SharedOptions.Policy, policy), (SharedOptions.Pages, pages), (SharedOptions.Threads, threads), (SharedOptions.Rounds, rounds), (SharedOptions.Seed, seed), (SharedOptions.Coherence, coherence) })
            {
                if (r.GetResult(option) is { Implicit: false } && !chosen.Takes.HasFlag(flag))
                {
                    throw new ScenarioInputException($"{option.Name} does not apply to {chosen.Name} (it takes {Describe(chosen.Takes)})");
                }
            }

            var options = new Dictionary<string, string>();
            foreach (var (owners, option, cli) in scenarioOptions)
            {
                var value = r.GetValue(cli);
                if (value is not null && !owners.Contains(chosen))
                {
                    var names = owners.Select(o => o.Name).ToArray();
                    var who = names.Length == 1 ? names[0] : $"{string.Join(", ", names[..^1])} and {names[^1]}";
                    throw new ScenarioInputException($"--{option.Name} applies to {who} only, not {chosen.Name}");
                }

                if (owners.Contains(chosen))
                {
                    options[option.Name] = value ?? option.Default;
                }
            }

            var settings = new ScenarioSettings
            {
                Policies = r.GetValue(policy) is { } p ? ScenarioOption.Split(p) : null,
                Pages = r.GetValue(pages),
                Threads = r.GetValue(threads),
                Rounds = r.GetValue(rounds),
                Seed = r.GetValue(seed),
                Size = r.GetValue(size) == "full" ? RunSize.Full : RunSize.Ci,
                Coherence = r.GetValue(coherence) switch { "coherent" => LinkCoherence.Coherent, "noncoherent" => LinkCoherence.NonCoherent, _ => LinkCoherence.Native },
                StallTimeout = TimeSpan.FromSeconds(r.GetValue(stall)),
                Options = options,
            };
            return Execute("run", [(chosen, settings)], Pick(r.GetValue(accelerator)!, r.GetValue(ilgpuCpu)), r.GetValue(json), r.GetValue(html), output);
        });

        var suite = new Command("suite", "run every scenario with its defaults") { accelerator, ilgpuCpu, size, seed, json, html, stall };
        suite.SetAction(r =>
        {
            var common = new ScenarioSettings
            {
                Seed = r.GetValue(seed),
                Size = r.GetValue(size) == "full" ? RunSize.Full : RunSize.Ci,
                StallTimeout = TimeSpan.FromSeconds(r.GetValue(stall)),
            };
            var plan = ScenarioCatalog.All.Select(s => (s, common with { Options = s.Options.ToDictionary(o => o.Name, o => o.Default) })).ToList();
            return Execute("suite", plan, Pick(r.GetValue(accelerator)!, r.GetValue(ilgpuCpu)), r.GetValue(json), r.GetValue(html), output);
        });

        var quick = new Option<bool>("--quick") { Description = "small sizes and short budgets: the whole suite in about a minute" };
        var only = new Option<string?>("--filter") { Description = "run only the probes whose name contains this text ('scaling' for the curves alone)" };
        only.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } v && string.IsNullOrWhiteSpace(v))
            {
                r.AddError($"--filter: give part of a probe's name (probes: {string.Join(", ", BenchScenario.Names)}, scaling)");
            }
        });
        var bench = new Command("bench", "the ratio suite: every hot path against its physical floor and target (on cpu; on ilgpu-cpu and every GPU too where a probe is per accelerator), then the scaling curves") { quick, only, ilgpuCpu, json, html };
        bench.SetAction(r =>
        {
            var settings = new ScenarioSettings { Size = r.GetValue(quick) ? RunSize.Ci : RunSize.Full };
            var filter = r.GetValue(only);
            var probes = new BenchScenario(filter, r.GetValue(ilgpuCpu) is { } shape ? IlgpuCpuSettings.Parse(shape, out _) : null);
            if (filter is not null && !probes.Matches && !"scaling".Contains(filter, StringComparison.Ordinal))
            {
                throw new ScenarioInputException($"bench --filter '{filter}': no probe matches (probes: {string.Join(", ", BenchScenario.Names)}, scaling)");
            }

            var plan = new List<Step>();
            if (probes.Matches)
            {
                plan.Add(new Step("bench", settings, c => [probes.Run(c)]));
            }

            if (filter is null || "scaling".Contains(filter, StringComparison.Ordinal))
            {
                plan.Add(new Step("scaling", settings, ScalingCurves.Run));
            }

            return Execute("bench", plan, AcceleratorCatalog.Cpu, r.GetValue(json), r.GetValue(html), output);
        });

        var conformance = new Command("conformance", "check an accelerator: the conformance kernels, host memory mapped in place, copies, the link, ILGPU.Algorithms") { accelerator, ilgpuCpu, json, html };
        conformance.SetAction(r => Execute("conformance", [new Step("conformance", new ScenarioSettings(), c => [ConformanceRun.Run(c)])], Pick(r.GetValue(accelerator)!, r.GetValue(ilgpuCpu)), r.GetValue(json), r.GetValue(html), output));

        var file = new Argument<string>("file") { Description = "a result written with --json" };
        var reportHtml = CliOptions.OutputFile("--html", "where to write the report", required: true);
        var report = new Command("report", "render a JSON result as a self-contained HTML report") { file, reportHtml };
        report.SetAction(r =>
        {
            var doc = ReadResult(r.GetValue(file)!);
            var target = Path.GetFullPath(r.GetValue(reportHtml)!);
            if (new OutputFiles().Add("--html", target).Problem() is { } problem)
            {
                throw new ScenarioInputException($"report: {problem}");
            }

            File.WriteAllText(target, HtmlReport.Render(doc));
            output.WriteLine($"wrote {target}");
            return Held;
        });

        var backend = new Option<string?>("--backend") { Description = "ptx or opencl (default: both)" };
        backend.AcceptOnlyFromAmong("ptx", "opencl");
        var arch = new Option<string>("--arch") { Description = "the CUDA architecture the PTX is for: sm_80 or sm_90", DefaultValueFactory = _ => "sm_80" };
        arch.AcceptOnlyFromAmong("sm_80", "sm_90");
        var kernels = new Command("kernels", "print the PTX and the OpenCL C ILGPU generates for every kernel") { backend, arch };
        kernels.SetAction(r => Kernels(output, r.GetValue(backend), r.GetValue(arch) == "sm_90" ? CudaArchitecture.SM_90 : CudaArchitecture.SM_80));

        var explore = Explore(size, json, html, output);
        return new RootCommand("testbed: GPU kernels doing atomics on memory whose residency a model of Linux HMM manages") { list, run, suite, bench, conformance, explore, report, kernels };
    }

    /// <summary>
    /// <c>explore</c>: Coyote searches a target's interleavings (<see cref="ExploreRun"/>), or replays a
    /// schedule file it wrote. Exit codes as <c>run</c>: a buggy baseline holds when its bug is found, a
    /// fixed variant when nothing is found in the budget, a replay when the same finding comes back.
    /// </summary>
    private static Command Explore(Option<string> size, Option<string?> json, Option<string?> html, TextWriter output)
    {
        var target = new Argument<string?>("target") { Description = $"what to explore: {string.Join(", ", ExploreTargets.Names)}, or all", Arity = ArgumentArity.ZeroOrOne };
        target.AcceptOnlyFromAmong([.. ExploreTargets.Names, "all"]);
        var strategy = new Option<string>("--strategy") { Description = "how schedules are chosen: random (uniform at every point) or pct (priorities with a few change points)", DefaultValueFactory = _ => "random" };
        strategy.AcceptOnlyFromAmong("random", "pct");
        var schedules = CliOptions.Count("--schedules", "schedules per search (default 1,000 at --size ci, 10,000 at full)", 1, 10_000_000);
        var seed = CliOptions.Integer("--seed", "the first seed of the strategy's choices (a buggy baseline is searched with 3 seeds from it at ci, 9 at full)", 1);
        var threads = CliOptions.Count("--threads", "swap-fault: faulting threads (default 3)", 2, 4);
        var replay = new Option<string?>("--replay") { Description = "run the schedule in this file (written by an earlier explore) again instead of searching" };
        var scheduleDir = new Option<string>("--schedule-dir") { Description = "where schedule files of findings are written", DefaultValueFactory = _ => "testbed-schedules" };
        var explore = new Command("explore", "search a protocol's interleavings with Coyote: find the seed races in their buggy baselines, clear the fixed variants") { target, strategy, schedules, seed, threads, size, replay, scheduleDir, json, html };
        explore.SetAction(r =>
        {
            if (r.GetValue(replay) is { } path)
            {
                var given = new Option[] { strategy, schedules, seed, threads, size, scheduleDir }.FirstOrDefault(o => r.GetResult(o) is { Implicit: false });
                if (r.GetValue(target) is not null || given is not null)
                {
                    throw new ScenarioInputException($"explore --replay: the schedule file says what to run; drop {(given is null ? "the target" : given.Name)}");
                }

                var file = ScheduleFile.Read(path);
                return Execute("explore", [new Step($"explore {file.Target}: replay", new ScenarioSettings(), _ => [ExploreRun.Replay(file, Path.GetFullPath(path))])], AcceleratorCatalog.Cpu, r.GetValue(json), r.GetValue(html), output);
            }

            var name = r.GetValue(target) ?? throw new ScenarioInputException($"explore: name a target ({string.Join(", ", ExploreTargets.Names)}, all) or give --replay FILE");
            if (r.GetValue(seed) < 0)
            {
                throw new ScenarioInputException($"explore --seed: {r.GetValue(seed)} is negative");
            }

            var settings = new ExploreSettings
            {
                Strategy = r.GetValue(strategy)!,
                Schedules = r.GetValue(schedules),
                Seed = (uint)r.GetValue(seed),
                Threads = r.GetValue(threads) ?? 3,
                Size = r.GetValue(size) == "full" ? RunSize.Full : RunSize.Ci,
                ScheduleDir = r.GetValue(scheduleDir)!,
            };
            var names = name == "all" ? ExploreTargets.Names : [name];
            var plan = names.Select(n => new Step($"explore {n}", new ScenarioSettings { Size = settings.Size }, c => [ExploreRun.Search(ExploreTargets.Find(n, settings.Threads)!, settings, c.Status)])).ToList();
            return Execute("explore", plan, AcceleratorCatalog.Cpu, r.GetValue(json), r.GetValue(html), output);
        });
        return explore;
    }

    /// <summary>The largest result file <c>report</c> reads (a result of every scenario at full size is a few MB).</summary>
    public const long MaxResultBytes = 256L << 20;

    /// <summary>Reads a result for <c>report</c>: the file must exist, be a file, and be at most <see cref="MaxResultBytes"/>.</summary>
    private static ResultDocument ReadResult(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new ScenarioInputException($"report: {full} is a folder, not a result file");
        }

        if (!File.Exists(full))
        {
            throw new ScenarioInputException($"report: {full} does not exist");
        }

        var length = new FileInfo(full).Length;
        if (length > MaxResultBytes)
        {
            throw new ScenarioInputException($"report: {full} is {length >> 20} MiB; a result is at most {MaxResultBytes >> 20} MiB");
        }

        try
        {
            return ResultJson.Read(File.ReadAllText(full));
        }
        catch (ResultFormatException e)
        {
            throw new ResultFormatException($"report: {Path.GetFileName(full)}: {e.Message}");
        }
    }

    /// <summary>The shared options <paramref name="takes"/> names, as <c>--policy, --pages</c>.</summary>
    private static string Describe(SharedOptions takes)
    {
        var names = Enum.GetValues<SharedOptions>().Where(f => f != SharedOptions.None && takes.HasFlag(f)).Select(f => $"--{f.ToString().ToLowerInvariant()}").ToList();
        return names.Count == 0 ? "none of the shared options" : string.Join(", ", names);
    }

    /// <summary>Runs scenarios, after checking that each fits in the memory available here (<see cref="SystemMemory.Problem"/>), before the first starts.</summary>
    private static int Execute(string command, IReadOnlyList<(IScenario Scenario, ScenarioSettings Settings)> plan, AcceleratorEntry device, string? json, string? html, TextWriter output)
    {
        var available = SystemMemory.Available();
        if (plan.Select(p => SystemMemory.Problem(p.Scenario, p.Settings, available)).FirstOrDefault(p => p is not null) is { } problem)
        {
            throw new ScenarioInputException(problem);
        }

        return Execute(command, [.. plan.Select(p => new Step(p.Scenario.Name, p.Settings, c => [p.Scenario.Run(c)]))], device, json, html, output);
    }

    /// <summary>
    /// Runs <paramref name="plan"/> on <paramref name="device"/>: the output files are checked first, so
    /// a long run does not end in an error about them; a step that fails inside the testbed (anything
    /// but bad input) is reported as a failed <c>completed</c> invariant naming the step and the
    /// error, and the other steps still run. The exit code is <see cref="Failed"/> when an invariant
    /// failed, whether or not the outputs could be written.
    /// </summary>
    internal static int Execute(string command, IReadOnlyList<Step> plan, AcceleratorEntry device, string? json, string? html, TextWriter output)
    {
        if (new OutputFiles().Add("--json", json).Add("--html", html).Problem() is { } problem)
        {
            throw new ScenarioInputException(problem);
        }

        var console = new ResultConsole(output, ResultConsole.IsInteractive(output));
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var results = new List<ScenarioResult>();
        string coherence;
        using (var probe = device.CreateRunner())
        {
            coherence = ScenarioContext.Describe(probe);
        }

        console.WithProgress("warming up", status => { WarmUp.Run(new ScenarioContext(plan[0].Settings, device, status)); return 0; });
        foreach (var step in plan)
        {
            foreach (var result in console.WithProgress($"{step.Title}: starting", status => RunStep(step, new ScenarioContext(step.Settings, device, status))))
            {
                console.Show(result);
                results.Add(result);
            }
        }

        var doc = new ResultDocument(command, started, clock.Elapsed.TotalSeconds, new AcceleratorInfo(device.Kind.Name(), Backend(device.Kind), device.Name, coherence), EnvironmentInfo.Current(), results);
        var invariants = results.SelectMany(s => s.Runs).SelectMany(r => r.Invariants).ToList();
        console.Line($"{invariants.Count(i => i.Held)} of {invariants.Count} invariants held in {doc.DurationSeconds:0.0} s on {device.Kind.Name()} ({device.Name})");
        var exit = ExitCode(doc);
        foreach (var (option, path, render) in new (string, string?, Func<ResultDocument, string>)[] { ("json", json, ResultJson.Write), ("html", html, HtmlReport.Render) })
        {
            if (path is null)
            {
                continue;
            }

            try
            {
                File.WriteAllText(path, render(doc));
                console.Line($"{option}: {Path.GetFullPath(path)}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                console.Line($"testbed: --{option}: could not write {Path.GetFullPath(path)}: {OneLine(e.Message)}");
                exit = exit == Held ? BadInput : exit;
            }
        }

        return exit;
    }

    /// <summary>Runs one step; a failure inside the testbed becomes a result with a failed <c>completed</c> invariant naming the step and the error (bad input still ends the command).</summary>
    private static IReadOnlyList<ScenarioResult> RunStep(Step step, ScenarioContext context)
    {
        try
        {
            return step.Run(context);
        }
        catch (Exception e) when (e is not ScenarioInputException)
        {
            var run = new PolicyRun
            {
                Name = step.Title,
                Policy = "-",
                Metrics = new Dictionary<string, Metric>(),
                Invariants = [new Invariant("completed", false, $"{step.Title} stopped with an error inside the testbed: {e.GetType().Name}: {OneLine(e.Message)}")],
            };
            return [new ScenarioResult(step.Title, new Dictionary<string, string> { ["error"] = e.GetType().Name }, [run])];
        }
    }

    /// <summary><see cref="Held"/> when every invariant of <paramref name="doc"/> held, else <see cref="Failed"/>.</summary>
    public static int ExitCode(ResultDocument doc) => doc?.Held ?? throw new ArgumentNullException(nameof(doc)) ? Held : Failed;

    /// <summary>
    /// The accelerator <c>--accelerator</c> names (<c>auto</c>: the first available of cuda, opencl, cpu),
    /// shaped by <c>--ilgpu-cpu</c>, which only ilgpu-cpu takes; an unavailable one is bad input, with the reason.
    /// </summary>
    private static AcceleratorEntry Pick(string choice, string? ilgpuCpu)
    {
        var kind = choice == "auto" ? (AcceleratorKind?)null : AcceleratorKinds.Parse(choice);
        if (ilgpuCpu is not null && kind != AcceleratorKind.IlgpuCpu)
        {
            throw new ScenarioInputException($"--ilgpu-cpu applies to --accelerator ilgpu-cpu only, not {choice}");
        }

        var shape = ilgpuCpu is null ? null : IlgpuCpuSettings.Parse(ilgpuCpu, out _);
        var entry = kind is { } k ? AcceleratorCatalog.Find(k, shape) : AcceleratorCatalog.Auto();
        return entry.IsAvailable ? entry : throw new ScenarioInputException($"--accelerator {choice}: unavailable: {entry.UnavailableReason}");
    }

    /// <summary>What runs the kernels on <paramref name="kind"/>, as results name it.</summary>
    private static string Backend(AcceleratorKind kind) => kind switch
    {
        AcceleratorKind.Cpu => "ILGPU kernels called directly",
        AcceleratorKind.IlgpuCpu => "ILGPU CPUAccelerator",
        AcceleratorKind.Cuda => "ILGPU CudaAccelerator",
        _ => "ILGPU CLAccelerator",
    };

    private static int List(TextWriter output)
    {
        output.WriteLine("scenarios:");
        foreach (var s in ScenarioCatalog.All)
        {
            output.WriteLine($"  {s.Name,-22} {s.Summary}");
            foreach (var o in s.Options)
            {
                output.WriteLine($"  {string.Empty,-22}   --{o.Name} (default {o.Default}): {o.Description}");
            }
        }

        output.WriteLine($"  {"suite",-22} all of the above with their defaults ('testbed suite')");
        output.WriteLine();
        output.WriteLine("explore targets ('testbed explore TARGET'; buggy baseline / fixed variant):");
        foreach (var t in ExploreTargets.Names.Select(n => ExploreTargets.Find(n)!))
        {
            output.WriteLine($"  {t.Name,-22} {t.Buggy} / {t.Fixed}: {t.Summary}");
        }

        output.WriteLine();
        output.WriteLine($"policies: {string.Join(", ", ResidencyPolicies.Names)}");
        output.WriteLine();
        output.WriteLine("accelerators:");
        foreach (var d in AcceleratorCatalog.All())
        {
            output.WriteLine(d.IsAvailable
                ? $"  {d.Kind.Name(),-10} available    {d.Name}: {d.Note}"
                : $"  {d.Kind.Name(),-10} unavailable  {d.Name}: {d.UnavailableReason}");
        }

        return Held;
    }

    /// <summary>Prints what ILGPU generates for every kernel of <see cref="KernelCatalog"/>: PTX for <paramref name="architecture"/> (ISA 7.8) and OpenCL C 2.0.</summary>
    private static int Kernels(TextWriter output, string? backend, CudaArchitecture architecture)
    {
        foreach (var kernel in KernelCatalog.All)
        {
            if (backend is null or "ptx")
            {
                output.WriteLine($"// ===== {KernelCatalog.NameOf(kernel)} (ptx for {architecture.ToString().ToLowerInvariant()}, ISA {KernelCompiler.PtxIsa})");
                output.WriteLine(KernelCompiler.Ptx(kernel, architecture));
            }

            if (backend is null or "opencl")
            {
                output.WriteLine($"// ===== {KernelCatalog.NameOf(kernel)} (opencl, {KernelCompiler.OpenClVersion})");
                output.WriteLine(KernelCompiler.OpenClC(kernel));
            }
        }

        return Held;
    }

    /// <summary>One step of a command's plan: what it is called, its settings, and the results it gives.</summary>
    internal sealed record Step(string Title, ScenarioSettings Settings, Func<ScenarioContext, IReadOnlyList<ScenarioResult>> Run);
}
