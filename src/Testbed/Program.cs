using Testbed;

if (args.Length > 0)
{
    Console.Error.WriteLine($"testbed: unexpected argument '{args[0]}': this build runs the HostMm demo and takes no arguments (the scenario CLI comes later).");
    return 2;
}

return HostMmDemo.Run(Console.Out);
