using System.Globalization;
using Testbed.Results;

namespace Testbed.Bench;

/// <summary>
/// One target of DESIGN §7 / issue 7: a bound on a measured value (at least, or at most), and the
/// <c>target METRIC</c> invariant a measurement against it becomes.
/// </summary>
/// <param name="Metric">The metric of the run the target applies to.</param>
/// <param name="Bound">The bound.</param>
/// <param name="AtLeast">True: the value must reach the bound; false: it must stay at or under it.</param>
/// <param name="Unit">The unit of the value and the bound ("x" for a ratio).</param>
/// <param name="Against">What the value is measured against, for the report ("a raw Interlocked.Add").</param>
public sealed record BenchTarget(string Metric, double Bound, bool AtLeast, string Unit, string Against = "")
{
    /// <summary>The target as text: "≥ 0.5x a raw Interlocked.Add".</summary>
    public string Text => $"{(AtLeast ? "≥" : "≤")} {Number(Bound)}{(Unit == "x" ? "x" : " " + Unit)}{(Against.Length > 0 ? " " + Against : string.Empty)}";

    /// <summary>Whether <paramref name="value"/> meets the target.</summary>
    public bool Met(double value) => AtLeast ? value >= Bound : value <= Bound;

    /// <summary>The <c>target</c> invariant for <paramref name="value"/>.</summary>
    public Invariant Check(double value, string detail = "") =>
        new($"target {Metric}", Met(value), $"measured {Number(value)}{(Unit == "x" ? "x" : " " + Unit)}, target {Text}{(detail.Length > 0 ? "; " + detail : string.Empty)}");

    /// <summary>A number with three significant digits.</summary>
    public static string Number(double v) => v.ToString(Math.Abs(v) >= 1000 ? "#,0" : "0.###", CultureInfo.InvariantCulture);
}
