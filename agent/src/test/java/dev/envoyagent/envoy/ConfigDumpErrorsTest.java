package dev.envoyagent.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ConfigDumpErrorsTest {

  @Test
  void namesEachRefusedListenerWithEnvoysDetails() throws Exception {
    var dump =
        new ObjectMapper()
            .readTree(
                """
        {"configs": [
          {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "version_info": "v2",
           "dynamic_listeners": [
             {"name": "web", "active_state": {"version_info": "v2"}},
             {"name": "db", "error_state": {"failed_configuration": {"name": "db"},
               "details": "error adding listener '127.0.0.1:5432': no filter chains specified"}}]},
          {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
           "dynamic_active_clusters": [{"cluster": {"name": "web"}}]}]}
        """);
    assertThat(ConfigDumpErrors.fromConfigDump(dump))
        .containsExactly(
            java.util.Map.entry(
                "listener db",
                "error adding listener '127.0.0.1:5432': no filter chains specified"));
  }
}
