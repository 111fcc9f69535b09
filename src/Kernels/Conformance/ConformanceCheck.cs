using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Conformance;

/// <summary>
/// One check of <see cref="ConformanceSuite"/>: what it runs on an accelerator, and on which ones it
/// applies (explicit groups and ILGPU.Algorithms, for instance, not on the direct cpu runner).
/// </summary>
/// <param name="Name">The check's name, as tests and the CLI show it.</param>
/// <param name="Summary">What it checks.</param>
/// <param name="Run">Runs the check on a runner.</param>
/// <param name="AppliesTo">Whether it applies to a runner; null: to every runner.</param>
public sealed record ConformanceCheck(string Name, string Summary, Func<KernelRunner, ConformanceOutcome> Run, Func<KernelRunner, bool>? AppliesTo = null)
{
    /// <summary>Whether the check applies to <paramref name="runner"/>.</summary>
    public bool Applies(KernelRunner runner) => AppliesTo?.Invoke(runner) ?? true;
}

/// <summary>What a check found: whether it held, in words, and any numbers it measured.</summary>
/// <param name="Held">Whether the accelerator behaved as the check expects.</param>
/// <param name="Detail">What was seen, in one line.</param>
/// <param name="Measured">Numbers worth keeping (a lost-update count, say), by name; null when none.</param>
public sealed record ConformanceOutcome(bool Held, string Detail, IReadOnlyDictionary<string, double>? Measured = null)
{
    /// <summary>A held check.</summary>
    public static ConformanceOutcome Pass(string detail, IReadOnlyDictionary<string, double>? measured = null) => new(true, detail, measured);

    /// <summary>A failed check.</summary>
    public static ConformanceOutcome Fail(string detail, IReadOnlyDictionary<string, double>? measured = null) => new(false, detail, measured);

    /// <summary>Held when <paramref name="expected"/> and <paramref name="actual"/> hold the same elements in order; the first difference otherwise.</summary>
    public static ConformanceOutcome Same<T>(IReadOnlyList<T> expected, IReadOnlyList<T> actual, string what)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        if (expected.Count != actual.Count)
        {
            return Fail($"{what}: {actual.Count} elements, expected {expected.Count}");
        }

        for (var i = 0; i < expected.Count; i++)
        {
            if (!EqualityComparer<T>.Default.Equals(expected[i], actual[i]))
            {
                return Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]}");
            }
        }

        return Pass($"{what}: all {expected.Count} as expected");
    }
}
