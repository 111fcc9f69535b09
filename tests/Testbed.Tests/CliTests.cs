using System.Text.Json;
using Testbed.Cli;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Conformance;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Tests;

/// <summary>The <c>testbed</c> command line end to end, on the cpu accelerator (and ilgpu-cpu where a test says so): commands, exit codes, JSON, report.</summary>
public sealed class CliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("testbed-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    internal static (int Code, string Out, string Err) Testbed(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = TestbedCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void List_shows_scenarios_options_policies_and_accelerators_with_reasons()
    {
        var (code, output, _) = Testbed("list");
        Assert.Equal(0, code);
        foreach (var name in new[] { "pingpong", "exclusivity", "fault-storm", "exclusive-vs-reclaim", "owner-filter", "oversubscription", "--protocol", "--ratios", "uvm-thrashing" })
        {
            Assert.Contains(name, output);
        }

        Assert.Matches(@"\n  cpu\s+available\s+\d+ cores, kernels called directly", output);
        Assert.Matches(@"\n  ilgpu-cpu\s+available\s+ILGPU CPUAccelerator 2x1x1:auto: .*tens of microseconds", output);
        Assert.Matches(@"\n  cuda\s+(available|unavailable\s+\S+)", output);
        Assert.Matches(@"\n  opencl\s+(available|unavailable\s+\S+)", output);
    }

    [Theory]
    [InlineData("bogus", "bogus")]
    [InlineData("run nosuch", "nosuch")]
    [InlineData("run pingpong --pages 0", "--pages")]
    [InlineData("run pingpong --threads 100", "--threads")]
    [InlineData("run pingpong --accelerator gpu", "gpu")]
    [InlineData("run pingpong --accelerator ilgpu-cpu --ilgpu-cpu 3x1x1", "--ilgpu-cpu: '3x1x1': threads per warp (at least 2) and warps per multiprocessor must be powers of two")]
    [InlineData("suite --ilgpu-cpu 2x1x1", "--ilgpu-cpu applies to --accelerator ilgpu-cpu only, not cpu")]
    [InlineData("bench --quick --ilgpu-cpu 2x1", "--ilgpu-cpu: '2x1' is not TxWxM")]
    [InlineData("conformance --accelerator tpu", "'tpu' not recognized")]
    [InlineData("kernels --arch sm_70", "'sm_70' not recognized")]
    [InlineData("run pingpong --policy migrate,bogus", "'bogus' is not a policy")]
    [InlineData("run exclusivity --protocol maybe", "'maybe' is not one of on, off")]
    [InlineData("run pingpong --protocol on", "--protocol applies to exclusivity only")]
    [InlineData("run stress --pages 20", "multiple of 8")]
    [InlineData("run pingpong --mode sideways", "'sideways' is not one of alternate, concurrent")]
    [InlineData("run exclusivity --mode concurrent", "--mode applies to pingpong only")]
    [InlineData("run stress --thp maybe", "--thp: 'maybe' is not one of off, on")]
    [InlineData("run exclusivity --thp on", "--thp applies to pingpong, oversubscription and stress only, not exclusivity")]
    [InlineData("run oversubscription --ratios 0.5,x", "'x' is not a ratio")]
    [InlineData("run oversubscription --pages 20", "multiple of 8")]
    [InlineData("run fault-storm --threads 1", "--threads 2 or more")]
    [InlineData("run pingpong --policy coherent --coherence noncoherent", "needs a coherent link")]
    [InlineData("run pingpong --stall-timeout 0", "--stall-timeout")]
    [InlineData("report /nonexistent/result.json --html out.html", "does not exist")]
    [InlineData("kernels --backend vulkan", "vulkan")]
    [InlineData("run pingpong --threads x", "--threads: 'x' is not a whole number")]
    [InlineData("run pingpong --pages x", "--pages: 'x' is not a whole number")]
    [InlineData("run pingpong --pages 1e3", "--pages: '1e3' is not a whole number")]
    [InlineData("run pingpong --rounds 0", "--rounds: 0 is out of range (1 to 100000)")]
    [InlineData("run pingpong --seed x", "--seed: 'x' is not a whole number")]
    [InlineData("run pingpong --stall-timeout NaN", "--stall-timeout: 'NaN' is not a number")]
    [InlineData("run pingpong --stall-timeout nan", "--stall-timeout: 'nan' is not a number")]
    [InlineData("suite --stall-timeout Infinity", "--stall-timeout: 'Infinity' is not a number")]
    [InlineData("run pingpong --stall-timeout 1,5", "--stall-timeout: '1,5' is not a number")]
    [InlineData("@/tmp", "Unrecognized command or argument '@/tmp'")]
    [InlineData("@/dev/zero", "Unrecognized command or argument '@/dev/zero'")]
    [InlineData("report /tmp --html /tmp/testbed-report.html", "report: /tmp is a folder, not a result file")]
    [InlineData("run pingpong --json /tmp", "--json: /tmp is a folder, not a file")]
    [InlineData("run fault-storm --policy remote", "--policy does not apply to fault-storm (it takes --threads, --rounds, --coherence)")]
    [InlineData("run owner-filter --threads 5", "--threads does not apply to owner-filter")]
    [InlineData("run oversubscription --threads 5", "--threads does not apply to oversubscription")]
    [InlineData("run exclusive-vs-reclaim --policy migrate", "--policy does not apply to exclusive-vs-reclaim")]
    [InlineData("run exclusivity --seed 3", "--seed does not apply to exclusivity")]
    [InlineData("run pingpong --size huge", "'huge' not recognized")]
    [InlineData("suite --size huge", "'huge' not recognized")]
    [InlineData("suite --accelerator tpu", "'tpu' not recognized")]
    [InlineData("run pingpong --coherence sticky", "'sticky' not recognized")]
    [InlineData("run fault-storm --swap-fault-locking never", "'never' is not one of legacy, locked")]
    [InlineData("run exclusive-vs-reclaim --exclusive-locking spin", "'spin' is not one of lock, trylock")]
    [InlineData("run owner-filter --filter maybe", "'maybe' is not one of on, off")]
    [InlineData("run pingpong --bogus 1", "Unrecognized command or argument '--bogus'")]
    [InlineData("run pingpong --json /nonexistent/dir/r.json", "--json: the folder /nonexistent/dir does not exist")]
    [InlineData("suite --html /nonexistent/dir/r.html", "--html: the folder /nonexistent/dir does not exist")]
    [InlineData("bench --quick --json /nonexistent/dir/b.json", "--json: the folder /nonexistent/dir does not exist")]
    [InlineData("bench --filter nosuch", "no probe matches")]
    [InlineData("report x.json", "Option '--html' is required")]
    [InlineData("report x.json --html /nonexistent/dir/r.html", "--html: the folder /nonexistent/dir does not exist")]
    public void Bad_input_is_one_line_and_exit_code_2(string args, string expected)
    {
        var (code, output, error) = Testbed(args.Split(' '));
        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("testbed: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", output + error);
    }

    /// <summary>
    /// A bug inside a step (an exception the scenario did not expect) is that step's failed
    /// <c>completed</c> invariant, named and on one line; the other steps still run, and the command
    /// exits 1 even when its JSON cannot be written at the end (here the step removes the folder).
    /// </summary>
    [Fact]
    public void A_step_that_throws_fails_its_completed_invariant_and_exits_1_even_when_the_json_cannot_be_written()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "gone"));
        var json = Path.Combine(folder.FullName, "r.json");
        var settings = new ScenarioSettings { Pages = 8, Rounds = 1 };
        TestbedCli.Step[] plan =
        [
            new("broken", settings, _ =>
            {
                folder.Delete(recursive: true);
                throw new InvalidOperationException("a bug\nover two lines");
            }),
            new("pingpong", settings, c => [new PingpongScenario().Run(c)]),
        ];
        using var output = new StringWriter();
        var code = TestbedCli.Execute("run", plan, Accelerators.Entry(AcceleratorKind.Cpu), json, null, output);
        var text = output.ToString();
        Assert.Equal(1, code);
        Assert.Contains("broken stopped with an error inside the testbed: InvalidOperationException: a bug over two lines", text);
        Assert.Contains("pingpong", text);
        Assert.Contains($"testbed: --json: could not write {json}", text);
        Assert.DoesNotContain("   at ", text);
    }

    /// <summary>
    /// Working sets beyond the 64 MiB every run used to get: the model's memory is sized from the
    /// pages (these ended in ENOMEM, and in a fatal "no VMA" fault that was really exhaustion).
    /// </summary>
    [Theory]
    [InlineData("run exclusive-vs-reclaim --pages 16384 --rounds 1")]
    [InlineData("run pingpong --pages 17000 --policy remote --rounds 1")]
    public void Pages_beyond_64_MiB_run(string args)
    {
        var (code, output, error) = Testbed(args.Split(' '));
        Assert.True(code == 0, output + error);
    }

    /// <summary>A run that cannot fit in this machine's memory is refused before it starts, saying what it needs, what there is, and the largest size that fits.</summary>
    [Fact]
    public void A_run_larger_than_this_machine_is_refused_up_front_with_the_limit()
    {
        var (code, output, error) = Testbed("run", "oversubscription", "--pages", "1048576", "--ratios", "8");
        Assert.Equal(2, code);
        Assert.Matches(@"^testbed: oversubscription: --pages 1048576 needs about 224\.\d GiB of memory at its peak \(28 KiB for each of 8388608 pages\); \d+\.\d GiB is available: at most --pages \d+ here", error);
        Assert.DoesNotContain("oversubscription", output);
    }

    /// <summary>The largest size <see cref="SystemMemory.Problem"/> names is the largest that fits, for every scenario that takes pages.</summary>
    [Theory]
    [InlineData("pingpong")]
    [InlineData("exclusivity")]
    [InlineData("stress")]
    [InlineData("exclusive-vs-reclaim")]
    [InlineData("oversubscription")]
    public void The_limit_named_is_the_largest_size_that_fits(string name)
    {
        var scenario = ScenarioCatalog.All.Single(s => s.Name == name);
        const long Available = 3L << 30;
        var settings = new ScenarioSettings { Pages = 1 << 20 };
        var problem = SystemMemory.Problem(scenario, settings, Available);
        Assert.NotNull(problem);
        var most = int.Parse(System.Text.RegularExpressions.Regex.Match(problem, @"at most --pages (\d+) here").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Null(SystemMemory.Problem(scenario, settings with { Pages = most }, Available));
        Assert.NotNull(SystemMemory.Problem(scenario, settings with { Pages = most + 8 }, Available));
        Assert.Equal(0, most % 8);
    }

    /// <summary>A result file larger than <see cref="TestbedCli.MaxResultBytes"/> is refused before it is read (a 1.2 GB file ended in "Out of memory").</summary>
    [Fact]
    public void Report_refuses_a_file_over_the_size_cap_without_reading_it()
    {
        var big = Path.Combine(_dir.FullName, "big.json");
        using (var f = File.Create(big))
        {
            f.SetLength(TestbedCli.MaxResultBytes + 1);
        }

        var (code, _, error) = Testbed("report", big, "--html", Path.Combine(_dir.FullName, "r.html"));
        Assert.Equal(2, code);
        Assert.Contains("is 256 MiB; a result is at most 256 MiB", error);
    }

    /// <summary>List options take spaces after the commas as a shell passes them in one quoted word.</summary>
    [Fact]
    public void List_options_accept_spaces_after_commas()
    {
        var (code, output, error) = Testbed("run", "exclusivity", "--policy", "migrate, remote", "--protocol", "on, off", "--rounds", "1");
        Assert.True(code == 0, output + error);
        Assert.Contains("migrate protocol=off", output);
        Assert.Contains("remote protocol=on", output);
    }

    /// <summary>Values a shell passes as empty strings, or that name one file twice, are refused before anything runs.</summary>
    [Theory]
    [InlineData("--json", "", "--json: the path is empty")]
    [InlineData("--html", "", "--html: the path is empty")]
    [InlineData("--filter", "", "--filter: give part of a probe's name")]
    [InlineData("--json", "same.out", "--json and --html name the same file")]
    public void Empty_paths_empty_filters_and_one_file_named_twice_are_bad_input(string option, string value, string expected)
    {
        string[] args = option == "--filter"
            ? ["bench", "--quick", option, value]
            : value.Length == 0 ? ["run", "pingpong", option, value] : ["run", "pingpong", "--json", Path.Combine(_dir.FullName, value), "--html", Path.Combine(_dir.FullName, value)];
        var (code, output, error) = Testbed(args);
        Assert.Equal(2, code);
        Assert.StartsWith("testbed: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", output + error);
        Assert.Equal(2, Testbed("report", Path.Combine(_dir.FullName, "r.json"), "--html", string.Empty).Code);
    }

    [Fact]
    public void Run_writes_versioned_json_with_metrics_and_invariants_and_exits_0()
    {
        var json = Path.Combine(_dir.FullName, "r.json");
        var (code, output, error) = Testbed("run", "exclusivity", "--rounds", "5", "--json", json);
        Assert.True(code == 0, output + error);
        Assert.Contains("lost_updates", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("testbed.result/1", root.GetProperty("schema").GetString());
        Assert.Equal("cpu", root.GetProperty("accelerator").GetProperty("name").GetString());
        foreach (var key in new[] { "os", "cpu", "dotnet", "commit" })
        {
            Assert.False(string.IsNullOrEmpty(root.GetProperty("environment").GetProperty(key).GetString()));
        }

        var scenario = root.GetProperty("scenarios")[0];
        Assert.Equal("exclusivity", scenario.GetProperty("scenario").GetString());
        Assert.Equal("noncoherent", scenario.GetProperty("parameters").GetProperty("coherence").GetString());
        var runs = scenario.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(["remote protocol=on", "remote protocol=off"], runs.Select(r => r.GetProperty("name").GetString()));
        Assert.Equal(0, runs[0].GetProperty("metrics").GetProperty("lost_updates").GetProperty("value").GetDouble());
        Assert.True(runs[1].GetProperty("metrics").GetProperty("lost_updates").GetProperty("value").GetDouble() > 0);
        Assert.All(runs, r => Assert.Equal("count", r.GetProperty("metrics").GetProperty("cpu_ops").GetProperty("unit").GetString()));
        Assert.Contains(runs[1].GetProperty("invariants").EnumerateArray(), i => i.GetProperty("name").GetString() == "lost_updates_detected" && i.GetProperty("held").GetBoolean());
    }

    [Fact]
    public void A_failed_invariant_means_exit_code_1_and_is_named_with_its_detail()
    {
        var doc = ResultJsonTests.Sample();
        Assert.Equal(1, TestbedCli.ExitCode(doc));
        Assert.Equal(0, TestbedCli.ExitCode(doc with { Scenarios = [doc.Scenarios[0] with { Runs = [doc.Scenarios[0].Runs[0]] }] }));
        using var output = new StringWriter();
        new ResultConsole(output, interactive: false).Show(doc.Scenarios[0]);
        Assert.Contains("FAILED: totals_exact", output.ToString());
        Assert.Contains("invariant failed: pingpong/remote: totals_exact: 1 word differs", output.ToString());
    }

    /// <remarks>
    /// The watchdog's window is 30 s here, not the default 5: a launch counts as progress when it
    /// returns, and every launch on ILGPU's CPU accelerator passes its threads through spinning
    /// barriers, so beside the parallel tests and the compaction adversary's spinning holds on 2
    /// cores one launch can outlast 5 s (stress/exclusive with two busy loops beside it: launches of
    /// 14,336 items took up to 1.7 s in most runs and 5.1 s in the one that failed, "launch: kernel
    /// running"). A deadlock or livelock still fails the test, at 30 s.
    /// </remarks>
    [Fact]
    public void The_whole_suite_holds_on_ilgpus_cpu_accelerator()
    {
        var json = Path.Combine(_dir.FullName, "suite.json");
        var (code, output, error) = Testbed("suite", "--accelerator", "ilgpu-cpu", "--ilgpu-cpu", "2x1x1:parallel", "--stall-timeout", "30", "--json", json);
        Assert.True(code == 0, output + error);
        Assert.Matches(@"(\d+) of \1 invariants held in .* on ilgpu-cpu \(ILGPU CPUAccelerator 2x1x1:parallel\)", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var accelerator = doc.RootElement.GetProperty("accelerator");
        Assert.Equal("ilgpu-cpu", accelerator.GetProperty("name").GetString());
        Assert.Equal("ILGPU CPUAccelerator", accelerator.GetProperty("backend").GetString());
        Assert.Equal(ScenarioCatalog.All.Count, doc.RootElement.GetProperty("scenarios").GetArrayLength());
    }

    [Fact]
    public void Conformance_runs_every_check_that_applies_and_names_the_others()
    {
        var json = Path.Combine(_dir.FullName, "conformance.json");
        var (code, output, error) = Testbed("conformance", "--json", json);
        Assert.True(code == 0, output + error);
        Assert.Contains("link-emulated-loses-cpu-updates", output);
        Assert.Contains("not_applicable=explicit-groups,fault-sort", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var runs = doc.RootElement.GetProperty("scenarios")[0].GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(ConformanceSuite.All.Count - 2, runs.Count);
        Assert.All(runs, r => Assert.True(r.GetProperty("invariants")[0].GetProperty("held").GetBoolean(), r.GetProperty("name").GetString()));
        if (!AcceleratorCatalog.Find(AcceleratorKind.Cuda).IsAvailable)
        {
            var (cudaCode, _, cudaError) = Testbed("conformance", "--accelerator", "cuda");
            Assert.Equal(2, cudaCode);
            Assert.Contains("--accelerator cuda: unavailable: ", cudaError);
        }
    }

    [Fact]
    public void Each_scenario_runs_small_and_every_invariant_holds()
    {
        foreach (var args in new[]
        {
            "run pingpong --pages 8 --rounds 3 --policy migrate,uvm-thrashing",
            "run fault-storm --threads 4 --rounds 1",
            "run exclusive-vs-reclaim --rounds 1",
            "run owner-filter --pages 2 --rounds 1",
            "run oversubscription --pages 16 --rounds 1 --ratios 0.5,2",
        })
        {
            var (code, output, error) = Testbed(args.Split(' '));
            Assert.True(code == 0, $"{args}: exit {code}\n{output}\n{error}");
            Assert.Contains("invariants held", output);
        }
    }

    [Fact]
    public void Report_renders_a_written_result_and_rejects_a_broken_one()
    {
        var json = Path.Combine(_dir.FullName, "r.json");
        var html = Path.Combine(_dir.FullName, "r.html");
        Assert.Equal(0, Testbed("run", "pingpong", "--pages", "8", "--rounds", "3", "--policy", "migrate,remote", "--json", json).Code);
        var (code, _, error) = Testbed("report", json, "--html", html);
        Assert.True(code == 0, error);
        var page = File.ReadAllText(html);
        Assert.Contains("data-chart=\"bar\"", page);
        Assert.Contains("data-chart=\"histogram\"", page);
        Assert.Contains("data-chart=\"timeline\"", page);
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal));

        File.WriteAllText(json, File.ReadAllText(json).Replace("\"held\": true", "\"held\": \"yes\"", StringComparison.Ordinal));
        (code, _, error) = Testbed("report", json, "--html", html);
        Assert.Equal(2, code);
        Assert.Contains("$.scenarios[0].runs[0].invariants[0].held: expected true or false, found a string", error);
    }

    [Fact]
    public void Kernels_prints_the_ptx_and_the_opencl_c_ilgpu_generates()
    {
        var (code, output, _) = Testbed("kernels");
        Assert.Equal(0, code);
        Assert.Contains("// ===== MirrorWorkload.DeviceOps (ptx for sm_80, ISA 7.8)", output);
        Assert.Contains("// ===== MirrorWorkload.DeviceOps (opencl, CL2.0)", output);
        Assert.Contains("(ptx for sm_90, ISA 7.8)", Testbed("kernels", "--backend", "ptx", "--arch", "sm_90").Out);
        Assert.Contains(".visible .entry Kernel_DeviceOps", output);
        Assert.Contains("kernel void Kernel_DeviceOps", output);
        var openCl = Testbed("kernels", "--backend", "opencl").Out;
        Assert.DoesNotContain(".visible .entry", openCl);
        Assert.Contains("kernel void", openCl);
        var (badCode, _, error) = Testbed("kernels", "--backend", "cuda");
        Assert.Equal(2, badCode);
        Assert.Contains("ptx", error);
    }
}
