using Testbed.Cli;

return TestbedCli.Run(args, Console.Out, Console.Error);
