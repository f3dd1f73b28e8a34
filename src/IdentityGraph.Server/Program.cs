using System.CommandLine;
using IdentityGraph.Server.Commands;
using IdentityGraph.Server.Configuration;

var root = new RootCommand("IdentityGraph: real-time identity resolution over Kafka.")
{
    NormalizeCommand.Create(),
    ImportCommand.Create(),
    ExportCommand.Create(),
    ServeCommand.Create(),
    KafkaCommand.Create(),
    DemoCommand.Create(),
    SettingsCommand.Create(),
};

try
{
    // Our own handler below turns configuration problems into a message and exit code 2; anything else is a bug and
    // should crash loudly with its stack trace.
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (ConfigurationException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}
