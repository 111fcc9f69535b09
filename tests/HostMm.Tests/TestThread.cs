using System.Runtime.ExceptionServices;

namespace Testbed.HostMm.Tests;

/// <summary>
/// A model thread for a test: a dedicated OS thread (model locks block, so thread-pool tasks could
/// starve the pool on a 2-core machine) whose exception, assertion failures included, is rethrown
/// to the test by <see cref="Join"/> and <see cref="Result"/>.
/// </summary>
internal sealed class TestThread<T>
{
    private readonly Thread _thread;
    private T? _result;
    private Exception? _error;

    public TestThread(Func<T> body)
    {
        _thread = new Thread(() =>
        {
            try
            {
                _result = body();
            }
            catch (Exception e)
            {
                _error = e;
            }
        })
        { IsBackground = true };
        _thread.Start();
    }

    public bool IsCompleted => !_thread.IsAlive;

    /// <summary>The thread's result; fails the test if it threw or has not finished within 60 s.</summary>
    public T Result
    {
        get
        {
            Assert.True(Join(TimeSpan.FromSeconds(60)), "model thread did not finish within 60 s");
            return _result!;
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/>; true if the thread finished, rethrowing what it threw.</summary>
    public bool Join(TimeSpan timeout)
    {
        if (!_thread.Join(timeout))
        {
            return false;
        }

        if (_error is not null)
        {
            ExceptionDispatchInfo.Throw(_error);
        }

        return true;
    }

    /// <summary>Waits up to <paramref name="milliseconds"/>.</summary>
    public bool Join(int milliseconds) => Join(TimeSpan.FromMilliseconds(milliseconds));
}

internal static class TestThread
{
    public static TestThread<T> Run<T>(Func<T> body) => new(body);

    public static TestThread<bool> Run(Action body) => new(() =>
    {
        body();
        return true;
    });
}
