using System.Diagnostics;

namespace Testbed.Bench;

/// <summary>
/// How the ratio suite times things on a shared, noisy machine: a measurement is many short
/// batches, and the median batch is the answer (a batch the scheduler interrupted is an outlier,
/// not a mean-shifter). Two things compared as a ratio are measured in alternating batches, so a
/// noisy neighbour slows both alike.
/// </summary>
public static class Timing
{
    /// <summary>Median seconds per operation of <paramref name="batch"/>, which does <paramref name="ops"/> operations, run for about <paramref name="budget"/> (at least 5 batches).</summary>
    public static double PerOp(Action batch, int ops, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch();
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        while (times.Count < 5 || (clock.Elapsed < budget && times.Count < 100_000))
        {
            times.Add(Once(batch) / ops);
        }

        return Median(times);
    }

    /// <summary>Median seconds per operation of <paramref name="a"/> and <paramref name="b"/>, measured in alternating batches within <paramref name="budget"/>.</summary>
    public static (double A, double B) PerOpPair(Action a, int opsA, Action b, int opsB, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        a();
        b();
        var ta = new List<double>();
        var tb = new List<double>();
        var clock = Stopwatch.StartNew();
        while (ta.Count < 5 || (clock.Elapsed < budget && ta.Count < 100_000))
        {
            ta.Add(Once(a) / opsA);
            tb.Add(Once(b) / opsB);
        }

        return (Median(ta), Median(tb));
    }

    /// <summary>Seconds one call of <paramref name="action"/> takes, to the timer's resolution (not a <see cref="TimeSpan"/>'s 100 ns).</summary>
    public static double Once(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var start = Stopwatch.GetTimestamp();
        action();
        return (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
    }

    /// <summary>The median of <paramref name="values"/>.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
