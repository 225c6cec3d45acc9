-- One database per service.
CREATE DATABASE valuechains;
CREATE DATABASE portfolio;
CREATE DATABASE principles;
