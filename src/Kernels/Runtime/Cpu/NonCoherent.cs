using System.Numerics;
using System.Runtime.CompilerServices;

namespace Testbed.Kernels.Cpu;

/// <summary>
/// The Cpu accelerator's emulation of a link without host-native atomics (PCIe, unlike NVLink-C2C or
/// CXL): while a kernel runs with <see cref="INonCoherentLinkEmulation.NonCoherentHostAtomics"/>, an atomic on
/// host-mapped memory is a plain read, a link round trip (<see cref="INonCoherentLinkEmulation.NonCoherentLinkDelaySpins"/>),
/// and a plain write, so a CPU atomic racing it can be lost. Without it, the exclusivity check
/// HostMm exists for could never fail in CI, and a check that cannot fail proves nothing.
/// The device's own atomics stay atomic among themselves, as a GPU's do (they meet at the device):
/// each update holds one of 1024 lock words chosen by address, which CPU atomics never take.
/// </summary>
internal static unsafe class NonCoherent
{
    [ThreadStatic] private static (nuint Start, nuint End)[]? t_ranges;
    [ThreadStatic] private static int t_delaySpins;
    private static readonly int[] LinkLocks = new int[1024];

    /// <summary>Called on a worker thread before it runs work items of a non-coherent launch.</summary>
    public static void Enter((nuint Start, nuint End)[] ranges, int delaySpins)
    {
        t_ranges = ranges;
        t_delaySpins = delaySpins;
    }

    /// <summary>Called on the worker thread after the launch's work items.</summary>
    public static void Exit() => t_ranges = null;

    /// <summary>Whether an atomic on <paramref name="target"/> crosses the emulated non-coherent link.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Applies<T>(ref T target)
        where T : unmanaged => t_ranges is { } ranges && InRanges(ranges, (nuint)Unsafe.AsPointer(ref target));

    /// <summary>A plain read-modify-write with the link's delay between read and write; returns the old value.</summary>
    public static T Update<T, TOp>(ref T target, T value)
        where T : unmanaged, IBinaryInteger<T>
        where TOp : struct, IAtomicOp
    {
        ref var gate = ref Enter(ref target);
        var old = target;
        Thread.SpinWait(t_delaySpins);
        target = TOp.Apply(old, value);
        Volatile.Write(ref gate, 0);
        return old;
    }

    /// <summary>A plain compare-then-write with the link's delay in between; returns the old value.</summary>
    public static T CompareExchange<T>(ref T target, T comparand, T value)
        where T : unmanaged, IEquatable<T>
    {
        ref var gate = ref Enter(ref target);
        var old = target;
        Thread.SpinWait(t_delaySpins);
        if (old.Equals(comparand))
        {
            target = value;
        }

        Volatile.Write(ref gate, 0);
        return old;
    }

    /// <summary>Takes the lock word of <paramref name="target"/>'s address (8-byte granules) and returns it.</summary>
    private static ref int Enter<T>(ref T target)
        where T : unmanaged
    {
        ref var gate = ref LinkLocks[(int)(((nuint)Unsafe.AsPointer(ref target) >> 3) & 1023)];
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref gate, 1, 0) != 0)
        {
            spin.SpinOnce();
        }

        return ref gate;
    }

    private static bool InRanges((nuint Start, nuint End)[] ranges, nuint address)
    {
        foreach (var (start, end) in ranges)
        {
            if (address >= start && address < end)
            {
                return true;
            }
        }

        return false;
    }
}
