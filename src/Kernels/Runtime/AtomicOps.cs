using System.Numerics;

namespace Testbed.Kernels;

/// <summary>
/// How an atomic combines the current value with the operand. Implemented by empty structs with a
/// static method, so the compare-and-swap loop and the non-coherent path are specialised per
/// operation by the JIT: no delegate call on the atomic path.
/// </summary>
internal interface IAtomicOp
{
    static abstract T Apply<T>(T current, T value)
        where T : IBinaryInteger<T>;
}

internal struct AddOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => current + value;
}

internal struct ExchangeOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => value;
}

internal struct MinOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => T.Min(current, value);
}

internal struct MaxOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => T.Max(current, value);
}

internal struct AndOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => current & value;
}

internal struct OrOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => current | value;
}

internal struct XorOp : IAtomicOp
{
    public static T Apply<T>(T current, T value)
        where T : IBinaryInteger<T> => current ^ value;
}
