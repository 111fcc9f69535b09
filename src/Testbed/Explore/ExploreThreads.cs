namespace Testbed.Explore;

/// <summary>
/// Starts a schedule's threads and waits for them. They are tasks: in the rewritten build Coyote
/// runs each on a thread of its own and controls their start and completion, whereas a
/// <see cref="Thread.Join()"/> waits on the operating system thread's exit, which Coyote cannot see and
/// resolves only by pausing (measured: about a second per schedule).
/// </summary>
public static class ExploreThreads
{
    /// <summary>Runs <paramref name="body"/> on <paramref name="count"/> threads (given their index) and waits for all.</summary>
    public static void Run(int count, Action<int> body)
    {
        var tasks = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var index = i;
            tasks[i] = Task.Run(() => body(index));
        }

        Task.WaitAll(tasks);
    }
}
