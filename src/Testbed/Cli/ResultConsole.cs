using System.Globalization;
using Spectre.Console;
using Testbed.Results;

namespace Testbed.Cli;

/// <summary>
/// What the CLI prints: a live status line while a scenario runs (only on an interactive terminal,
/// never when output is redirected or <c>CI=true</c>), then a table per scenario — one row per run,
/// its metrics and whether its invariants held — and the detail of every invariant that failed.
/// </summary>
public sealed class ResultConsole
{
    private readonly IAnsiConsole _console;

    /// <summary>Writes to <paramref name="output"/>; <paramref name="interactive"/> turns on colour and progress.</summary>
    public ResultConsole(TextWriter output, bool interactive)
    {
        Interactive = interactive;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive)
        {
            _console.Profile.Width = 240;
        }
    }

    /// <summary>Whether progress is shown.</summary>
    public bool Interactive { get; }

    /// <summary>Whether the process writes to a terminal a person watches: not redirected and not under CI.</summary>
    public static bool IsInteractive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs <paramref name="work"/>, showing the status it reports as a spinner line when interactive.</summary>
    public T WithProgress<T>(string title, Func<Action<string>, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!Interactive)
        {
            return work(_ => { });
        }

        return _console.Status().Start(Markup.Escape(title), ctx => work(text => ctx.Status(Markup.Escape(text))));
    }

    /// <summary>A plain line.</summary>
    public void Line(string text) => _console.WriteLine(text);

    /// <summary>The table of one scenario's runs, then each failed invariant with its detail.</summary>
    public void Show(ScenarioResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Parameters.TryGetValue("kind", out var kind) && kind == "targets")
        {
            ShowTargets(result);
            return;
        }

        var metricNames = result.Runs.SelectMany(r => r.Metrics.Keys).Distinct().ToList();
        var table = new Table { Border = Interactive ? TableBorder.Rounded : TableBorder.Ascii2 };
        table.Title(Markup.Escape($"{result.Scenario} ({string.Join(", ", result.Parameters.Select(p => $"{p.Key}={p.Value}"))})"));
        table.AddColumn(new TableColumn("run").NoWrap());
        foreach (var m in metricNames)
        {
            table.AddColumn(new TableColumn(m).RightAligned().NoWrap());
        }

        table.AddColumn("invariants");
        foreach (var run in result.Runs)
        {
            var cells = new List<string> { Markup.Escape(run.Name) };
            cells.AddRange(metricNames.Select(m => run.Metrics.TryGetValue(m, out var v) ? Format(v) : "-"));
            var failed = run.Invariants.Where(i => !i.Held).Select(i => i.Name).ToList();
            cells.Add(failed.Count == 0
                ? $"[green]held ({run.Invariants.Count})[/]"
                : $"[red]FAILED: {Markup.Escape(string.Join(", ", failed))}[/]");
            table.AddRow(cells.ToArray());
        }

        _console.Write(table);
        foreach (var run in result.Runs)
        {
            if (run.Settings.TryGetValue("replay", out var replay))
            {
                _console.WriteLine($"{result.Scenario}/{run.Name}: found (seed {run.Settings["finding_seed"]}): {run.Settings["finding"]}");
                _console.WriteLine($"  replay: {replay}");
            }

            foreach (var i in run.Invariants.Where(i => !i.Held))
            {
                _console.MarkupLine($"[red]invariant failed[/]: {Markup.Escape($"{result.Scenario}/{run.Name}: {i.Name}: {i.Detail}")}");
            }
        }
    }

    /// <summary>
    /// The ratio suite's table: per target, what was measured, the target and whether it was met; a
    /// run measured for information, with no target (ilgpu-cpu), shows each of its metrics; then every
    /// failed invariant with its detail.
    /// </summary>
    private void ShowTargets(ScenarioResult result)
    {
        var table = new Table { Border = Interactive ? TableBorder.Rounded : TableBorder.Ascii2 };
        table.Title(Markup.Escape($"{result.Scenario} ({string.Join(", ", result.Parameters.Where(p => p.Key != "kind").Select(p => $"{p.Key}={p.Value}"))})"));
        table.AddColumn(new TableColumn("hot path").NoWrap());
        table.AddColumn(new TableColumn("metric").NoWrap());
        table.AddColumn(new TableColumn("measured").RightAligned().NoWrap());
        table.AddColumn(new TableColumn("target").NoWrap());
        table.AddColumn(new TableColumn("met").NoWrap());
        foreach (var run in result.Runs)
        {
            if (!run.Invariants.Any(i => i.Name.StartsWith("target ", StringComparison.Ordinal)))
            {
                foreach (var (metric, value) in run.Metrics)
                {
                    table.AddRow(Markup.Escape(run.Name), Markup.Escape(metric), Markup.Escape(Format(value)), "information", "-");
                }
            }

            foreach (var target in run.Invariants.Where(i => i.Name.StartsWith("target ", StringComparison.Ordinal)))
            {
                var metric = target.Name["target ".Length..];
                var bound = run.Settings.TryGetValue("targets", out var all) ? all.Split("; ").FirstOrDefault(t => t.StartsWith(metric + " ", StringComparison.Ordinal))?[(metric.Length + 1)..] ?? "?" : "?";
                table.AddRow(
                    Markup.Escape(run.Name),
                    Markup.Escape(metric),
                    run.Metrics.TryGetValue(metric, out var m) ? Markup.Escape(Format(m)) : "-",
                    Markup.Escape(bound),
                    target.Held ? "[green]yes[/]" : "[red]NO[/]");
            }
        }

        _console.Write(table);
        foreach (var run in result.Runs)
        {
            foreach (var i in run.Invariants.Where(i => !i.Held))
            {
                _console.MarkupLine($"[red]{(i.Name.StartsWith("target ", StringComparison.Ordinal) ? "target missed" : "invariant failed")}[/]: {Markup.Escape($"{result.Scenario}/{run.Name}: {i.Name}: {i.Detail}")}");
            }
        }
    }

    /// <summary>A metric as a table shows it: counts grouped, rates in k/M, times in their unit.</summary>
    public static string Format(Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var v = metric.Value;
        return metric.Unit switch
        {
            "count" or "pages" => v == Math.Floor(v) ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture),
            "ops/s" => v >= 1e6 ? $"{v / 1e6:0.00}M/s" : v >= 1e3 ? $"{v / 1e3:0.0}k/s" : $"{v:0}/s",
            _ when metric.Unit.EndsWith("/s", StringComparison.Ordinal) => v >= 1e6 ? $"{v / 1e6:0.00}M {metric.Unit}" : v >= 1e3 ? $"{v / 1e3:0.0}k {metric.Unit}" : $"{v:0.##} {metric.Unit}",
            "bytes" => v >= 1 << 20 ? $"{v / (1 << 20):0.0} MiB" : $"{v / 1024:0.0} KiB",
            "bool" => v != 0 ? "yes" : "no",
            "x" => $"{v.ToString("0.###", CultureInfo.InvariantCulture)}x",
            "us" => v >= 1000 ? $"{(v / 1000).ToString("N1", CultureInfo.InvariantCulture)} ms" : $"{v.ToString("0.0", CultureInfo.InvariantCulture)} us",
            _ => $"{v.ToString("0.##", CultureInfo.InvariantCulture)} {metric.Unit}",
        };
    }
}
