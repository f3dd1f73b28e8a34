using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// The exit path of a fatal Kafka client error, through a real host: librdkafka's fatal errors cannot be provoked on
/// the dev broker, so this drives <see cref="FatalErrors"/> (what every client's error handler calls) directly.
/// </summary>
public sealed class FatalErrorsTests
{
    [Fact]
    public async Task A_fatal_client_error_stops_the_host_and_sets_a_non_zero_exit_code_once()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<FatalErrors>();
        using var host = builder.Build();
        await host.StartAsync();
        var fatalErrors = host.Services.GetRequiredService<FatalErrors>();
        Assert.Null(fatalErrors.Reason);
        try
        {
            fatalErrors.Report("dead-letter producer", "OutOfOrderSequenceNumber", "sequence lost");
            fatalErrors.Report("outbox producer", "Fenced", "later report");

            await host.WaitForShutdownAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("dead-letter producer: OutOfOrderSequenceNumber sequence lost", fatalErrors.Reason);
            Assert.Equal(FatalErrors.ExitCode, Environment.ExitCode);
        }
        finally
        {
            // The test host process must not exit with it.
            Environment.ExitCode = 0;
        }
    }
}
