using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>The shadow-copy comparison scenarios end with: every word against what it must hold.</summary>
public static class WordCheck
{
    /// <summary>An invariant named <paramref name="name"/> that holds when <paramref name="actual"/> equals <paramref name="expected"/> word for word.</summary>
    public static Invariant Compare(string name, ReadOnlySpan<long> expected, ReadOnlySpan<int> actual, int wordsPerPage)
    {
        var wrong = 0L;
        var first = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            if ((int)expected[i] != actual[i])
            {
                wrong++;
                first = first < 0 ? i : first;
            }
        }

        return wrong == 0
            ? new Invariant(name, true, $"all {expected.Length} words hold what they must")
            : new Invariant(name, false, $"{wrong} of {expected.Length} words differ; first: page {first / wordsPerPage} word {first % wordsPerPage} holds {actual[first]}, expected {(int)expected[first]}");
    }
}
