using System.Diagnostics.CodeAnalysis;

namespace Testbed.HostMm.Diagnostics;

/// <summary>
/// <c>VM_BUG_ON_FOLIO()</c>: a frame found in a state no correct caller can leave it in (unlocked
/// twice, a count gone below zero, freed while locked) is a programming error, reported with the
/// frame's number. The message is built here, out of line: the per-page checks on the migration and
/// fault paths then stay a compare and a branch, small enough for the JIT to inline the methods
/// that make them, with no string handler to clear on every call.
/// </summary>
internal static class VmBug
{
    /// <summary>Throws <see cref="InvalidOperationException"/>: "<paramref name="where"/>: pfn <paramref name="pfn"/> <paramref name="what"/>".</summary>
    [DoesNotReturn]
    public static void OnFolio(string where, long pfn, string what) =>
        throw new InvalidOperationException($"{where}: pfn {pfn} {what}");
}
