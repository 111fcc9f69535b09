using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Cpu;

/// <summary>
/// One memory operation on bytes a <see cref="CpuContext"/> has translated. Implemented by small
/// structs (and ref structs, for spans) so the JIT specialises the access loop for each operation:
/// no delegate, no boxing, no allocation.
/// </summary>
internal interface IPageAccess
{
    unsafe void Apply(byte* p);
}

internal unsafe struct LoadOp<T> : IPageAccess
    where T : unmanaged
{
    public T Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Value = Unsafe.ReadUnaligned<T>(p);
}

internal unsafe struct StoreOp<T>(T value) : IPageAccess
    where T : unmanaged
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Apply(byte* p) => Unsafe.WriteUnaligned(p, value);
}

internal unsafe ref struct CopyOutOp(Span<byte> destination) : IPageAccess
{
    private readonly Span<byte> _destination = destination;

    public readonly void Apply(byte* p) => new ReadOnlySpan<byte>(p, _destination.Length).CopyTo(_destination);
}

internal unsafe ref struct CopyInOp(ReadOnlySpan<byte> source) : IPageAccess
{
    private readonly ReadOnlySpan<byte> _source = source;

    public readonly void Apply(byte* p) => _source.CopyTo(new Span<byte>(p, _source.Length));
}

internal unsafe struct AddOp32(int delta) : IPageAccess
{
    public int Result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Result = Interlocked.Add(ref *(int*)p, delta);
}

internal unsafe struct AddOp64(long delta) : IPageAccess
{
    public long Result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Result = Interlocked.Add(ref *(long*)p, delta);
}

internal unsafe struct ExchangeOp32(int value) : IPageAccess
{
    public int Result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Result = Interlocked.Exchange(ref *(int*)p, value);
}

internal unsafe struct ExchangeOp64(long value) : IPageAccess
{
    public long Result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Result = Interlocked.Exchange(ref *(long*)p, value);
}

internal unsafe struct CompareExchangeOp32(int value, int comparand) : IPageAccess
{
    public int Result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Result = Interlocked.CompareExchange(ref *(int*)p, value, comparand);
}

internal unsafe struct CompareExchangeOp64(long value, long comparand) : IPageAccess
{
    public long Result;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(byte* p) => Result = Interlocked.CompareExchange(ref *(long*)p, value, comparand);
}
